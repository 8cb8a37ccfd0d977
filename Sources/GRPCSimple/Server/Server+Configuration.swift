import Logging

extension Server {
    /// Limits and tuning; every field has a default.
    public struct Configuration: Sendable {
        /// Largest request message accepted; a larger one ends the call with
        /// RESOURCE_EXHAUSTED. Default 4 MiB.
        public var maximumReceiveMessageSize = 4 * 1024 * 1024
        /// Calls one client connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
        public var maximumConcurrentStreams = 100
        /// Largest header block accepted (SETTINGS_MAX_HEADER_LIST_SIZE). Default 16 KiB.
        public var maximumHeaderListSize = 16 * 1024
        /// Flow-control window granted to each call, in bytes.
        public var streamWindowSize = 1024 * 1024
        /// Flow-control window granted to each connection, in bytes.
        public var connectionWindowSize = 8 * 1024 * 1024
        /// How long a new connection may take to send its HTTP/2 preface and first frame;
        /// a connection that sends nothing is closed after this. Default 10 s.
        /// With TLS it covers the TLS handshake too.
        public var handshakeTimeout: Duration = .seconds(10)
        /// Keepalive PINGs, the rule for the client's PINGs, and how long a connection may
        /// live or idle.
        public var keepalive = Keepalive()
        /// TLS, or nil (the default) for plaintext HTTP/2. Its PEM material is read by
        /// `start`; a connection whose handshake fails is closed (and logged), never the server.
        public var tls: ServerTLSConfiguration? = nil
        /// Where the server logs connections and failed handlers.
        public var logger = Logger(label: "grpc-simple.server", factory: { _ in SwiftLogNoOpLogHandler() })

        /// The defaults.
        public init() {}
    }

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

extension Server.Configuration {
    /// How each connection's `ConnectionStateMachine` is set up.
    func connectionStateMachine() -> ConnectionStateMachine.Configuration {
        let keepalive = self.keepalive
        return ConnectionStateMachine.Configuration(
            peer: "client",
            handshakeTimeout: self.handshakeTimeout.timeAmount,
            keepalive: .init(
                // At least 1 s, as grpc-go: a zero time would ping in a loop.
                time: max(keepalive.time, .seconds(1)).timeAmount,
                timeout: keepalive.timeout.timeAmount,
                permitWithoutCalls: true
            ),
            maximumIdle: keepalive.maximumConnectionIdle?.timeAmount,
            // ±10 % jitter, as grpc-go does, so connections made together do not all
            // reconnect together. Bounded below Int64.max: a huge age ("never") must not overflow.
            maximumAge: keepalive.maximumConnectionAge.map { age in
                .nanoseconds(Int64(min(Double(age.clampedNanoseconds) * Double.random(in: 0.9...1.1), Double(Int64.max / 2))))
            },
            maximumAgeGrace: keepalive.maximumConnectionAgeGrace?.timeAmount,
            pingPolicy: ServerPingPolicy(
                minimumInterval: keepalive.minimumPingInterval.timeAmount,
                permitWithoutCalls: keepalive.permitPingsWithoutCalls
            )
        )
    }
}
