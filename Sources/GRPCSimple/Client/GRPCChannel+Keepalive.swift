extension GRPCChannel {
    /// Client keepalive (grpc/grpc `doc/keepalive.md`), the same shape as the server's
    /// `Server.Keepalive`: after `time` without a frame
    /// from the server, send a PING; if nothing comes back within `timeout`, close the
    /// connection. Its calls fail with UNAVAILABLE, and later calls reconnect.
    ///
    /// Servers limit how often clients may ping (5 minutes by default in every gRPC
    /// server, and only while calls are open); a client pinging more often gets GOAWAY
    /// ENHANCE_YOUR_CALM "too_many_pings", after which this channel doubles its `time`.
    /// Unlike grpc-go, `time` is not raised to at least 10 s: keep it at or above the
    /// server's minimum ping interval yourself.
    public struct Keepalive: Sendable, Equatable {
        /// How long the connection may be silent before a PING is sent.
        public var time: Duration
        /// How long to wait for any frame (the PING's ack or anything else) after a PING.
        public var timeout: Duration
        /// Whether to ping while no call is open. Most servers refuse such pings.
        public var permitWithoutCalls: Bool

        /// - Parameters:
        ///   - time: How long the connection may be silent before a PING is sent.
        ///   - timeout: How long to wait for an answer. Default 20 s.
        ///   - permitWithoutCalls: Whether to ping while no call is open. Default false.
        public init(time: Duration, timeout: Duration = .seconds(20), permitWithoutCalls: Bool = false) {
            self.time = time
            self.timeout = timeout
            self.permitWithoutCalls = permitWithoutCalls
        }
    }
}
