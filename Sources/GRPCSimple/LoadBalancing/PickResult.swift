/// A load-balancing policy's answer for one call.
public enum PickResult {
    /// Send the call on this subchannel, which is READY.
    case subchannel(Subchannel)
    /// Send the call on this subchannel, which is READY, and tell `onCallEnded` the status
    /// each attempt of the call ends with there (`.ok` or the error's code; a call the
    /// client cancels ends `.cancelled`). It is called once per attempt, on the channel's
    /// event loop.
    ///
    /// Policies that learn from outcomes (outlier detection) use this; to keep picks free
    /// of allocations, make one closure per subchannel and return it each time.
    case trackedSubchannel(Subchannel, onCallEnded: (StatusCode) -> Void)
    /// Hold the call until the policy has a new picker (a subchannel is connecting).
    case queue
    /// Fail the call with this error, unless it waits for ready (then it is held).
    case fail(RPCError)
}
