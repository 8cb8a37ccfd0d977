/// A load-balancing policy's answer for one call.
public enum PickResult {
    /// Send the call on this subchannel, which is READY.
    case subchannel(Subchannel)
    /// Hold the call until the policy has a new picker (a subchannel is connecting).
    case queue
    /// Fail the call with this error, unless it waits for ready (then it is held).
    case fail(RPCError)
}
