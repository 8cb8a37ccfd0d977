/// A load-balancing policy's answer for one call.
public enum PickResult {
    /// Send the call on this subchannel, which is READY.
    case subchannel(Subchannel)
    /// Send the call on this subchannel, which is READY, and tell `onCallEnded` the status
    /// each attempt of the call ends with there: `.ok`, the server's error, or the error of
    /// the connection. It is called at most once per attempt, on the channel's event loop;
    /// not when the client gives up on the call itself (its caller cancels it or its
    /// deadline passes), which says nothing of the server (as gRFC A50's call counter
    /// leaves such calls out).
    ///
    /// Policies that learn from outcomes (outlier detection) use this; to keep picks free
    /// of allocations, make one closure per subchannel and return it each time.
    case trackedSubchannel(Subchannel, onCallEnded: (StatusCode) -> Void)
    /// Hold the call until the policy has a new picker (a subchannel is connecting).
    case queue
    /// Fail the call with this error, unless it waits for ready (then it is held).
    case fail(RPCError)
}
