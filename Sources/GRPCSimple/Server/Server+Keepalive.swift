extension Server {
    /// Server keepalive and connection lifetime (grpc/grpc `doc/keepalive.md`, with
    /// grpc-go's defaults): when the server PINGs a silent client, how often a client may
    /// PING, and how long a connection may idle or live.
    ///
    /// The same shape as the client's `GRPCChannel.Keepalive` (`time`, `timeout`), plus the
    /// rules a server enforces.
    public struct Keepalive: Sendable, Equatable {
        /// After this long without a frame from a client, the server PINGs it. Default 2
        /// hours; at least 1 s (shorter times are raised to it, as in grpc-go).
        public var time: Duration
        /// A client that sends nothing within this long after a keepalive PING is
        /// considered gone and its connection closed. Default 20 s.
        public var timeout: Duration
        /// The shortest interval allowed between a client's PINGs. A client pinging more
        /// often gets strikes; after two, the next early PING gets GOAWAY
        /// ENHANCE_YOUR_CALM "too_many_pings" and the connection closes. Default 5 minutes.
        public var minimumPingInterval: Duration
        /// Whether clients may ping while they have no call open; when false, a PING
        /// without calls must come at least two hours after the previous one. Default false.
        public var permitPingsWithoutCalls: Bool
        /// A connection with no call for this long is closed (GOAWAY NO_ERROR). Default nil: never.
        public var maximumConnectionIdle: Duration?
        /// A connection older than this (±10 % jitter) is told to go away (GOAWAY NO_ERROR)
        /// and closes once its calls are done. Default nil: no limit.
        public var maximumConnectionAge: Duration?
        /// How long calls in flight get to finish after `maximumConnectionAge`; then the
        /// connection closes and they fail. Default nil: as long as they take.
        public var maximumConnectionAgeGrace: Duration?

        /// Every argument has grpc-go's default.
        public init(
            time: Duration = .seconds(2 * 60 * 60),
            timeout: Duration = .seconds(20),
            minimumPingInterval: Duration = .seconds(300),
            permitPingsWithoutCalls: Bool = false,
            maximumConnectionIdle: Duration? = nil,
            maximumConnectionAge: Duration? = nil,
            maximumConnectionAgeGrace: Duration? = nil
        ) {
            self.time = time
            self.timeout = timeout
            self.minimumPingInterval = minimumPingInterval
            self.permitPingsWithoutCalls = permitPingsWithoutCalls
            self.maximumConnectionIdle = maximumConnectionIdle
            self.maximumConnectionAge = maximumConnectionAge
            self.maximumConnectionAgeGrace = maximumConnectionAgeGrace
        }
    }
}
