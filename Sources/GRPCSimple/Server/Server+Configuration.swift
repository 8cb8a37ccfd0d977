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
        /// Where the server logs. By default standard error (unbuffered, so a redirected log
        /// gets each line at once) at level `notice`: the address it listens on when it
        /// starts, handlers that fail (`error`, with the error the client never sees),
        /// RPC errors with a cause (`warning`), and when it stops. Give it a logger of your
        /// own for more (`info`: the access log; `debug`: connections, GOAWAY, keepalive) or
        /// less. Each call's `ServerContext.logger` is this one with the call's metadata.
        public var logger = Logger(label: "grpc-simple.server") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .notice
            return handler
        }
        /// Metrics, tracing and the access log; all off by default. See `Observability`.
        public var observability = Observability()
        /// Which web pages may call the server from a browser (gRPC-Web and Connect), or nil
        /// (the default) for none: browsers then refuse cross-origin calls. Calls from other
        /// clients are served either way.
        public var cors: CORSPolicy? = nil
        /// How long calls in flight may run once a graceful shutdown begins when the server
        /// runs as a ServiceLifecycle `Service` (SIGTERM through a `ServiceGroup`). Default 5 s.
        public var shutdownGracePeriod: Duration = .seconds(5)

        /// The defaults.
        public init() {}
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
                .nanoseconds(
                    Int64(min(Double(age.clampedNanoseconds) * Double.random(in: 0.9...1.1), Double(Int64.max / 2))))
            },
            maximumAgeGrace: keepalive.maximumConnectionAgeGrace?.timeAmount,
            pingPolicy: ServerPingPolicy(
                minimumInterval: keepalive.minimumPingInterval.timeAmount,
                permitWithoutCalls: keepalive.permitPingsWithoutCalls
            ),
            // The server's transport (GRPCSimpleHTTP2) bounds control frames itself, with
            // the same rule: a PING that follows a response is free.
            controlFrameLimit: nil
        )
    }
}
