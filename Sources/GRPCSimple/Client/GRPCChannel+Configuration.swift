import Logging

extension GRPCChannel {
    /// Limits and tuning; every field has a default.
    public struct Configuration: Sendable {
        /// Largest response message accepted; larger ones fail the call with
        /// RESOURCE_EXHAUSTED. Default 4 MiB.
        public var maximumReceiveMessageSize = 4 * 1024 * 1024
        /// Reconnection delays.
        public var backoff = ConnectionBackoff()
        /// Flow-control window granted to each call's responses, in bytes.
        public var streamWindowSize = 1024 * 1024
        /// Flow-control window granted to the connection, in bytes.
        public var connectionWindowSize = 8 * 1024 * 1024
        /// Largest response header block accepted. Default 16 KiB.
        public var maximumHeaderListSize = 16 * 1024
        /// Run around every call, the first outermost; see `ClientInterceptor`.
        public var interceptors: [any ClientInterceptor] = []
        /// Credentials attached to every call (a bearer token, ...); a call's own
        /// `CallOptions.credentials` wins.
        public var credentials: CallCredentials?
        /// Keepalive PINGs, to notice a dead connection (a peer gone without a word, a
        /// NAT that dropped the mapping). Default nil: off, as in every gRPC.
        public var keepalive: Keepalive?
        /// TLS, or nil (the default) for plaintext HTTP/2. Its PEM material is read when
        /// the channel is created; a failed handshake fails calls with UNAVAILABLE.
        public var tls: ClientTLSConfiguration? = nil
        /// How calls are spread over the target's addresses. Default `pickFirst`. A service
        /// config that names a policy wins.
        public var loadBalancing = LoadBalancingConfiguration.pickFirst
        /// The channel's default service config: timeouts, retries, hedging and limits per
        /// method, a load-balancing policy, retry throttling, health checking. One that the
        /// resolver brings replaces it. Default nil.
        public var serviceConfig: ServiceConfig?
        /// The most request bytes one call keeps to send again on a retry; a call that
        /// writes more commits to its current attempt. Default 256 KiB.
        public var retryBufferSize = 256 * 1024
        /// The most request bytes all the channel's calls keep for retries together; a call
        /// that would go past it commits to its current attempt. Default 16 MiB.
        public var channelRetryBufferSize = 16 * 1024 * 1024
        /// Resolvers of your own, by scheme (`registry:payments`); one for `dns`, `ipv4`,
        /// ... replaces the built-in one.
        public var nameResolvers: [any NameResolverFactory] = []
        /// The least time between two DNS lookups of the target: a connection that drops
        /// or a connect that fails asks for fresh addresses, at most this often. Default 30 s.
        public var minimumResolutionInterval: Duration = .seconds(30)
        /// A channel without calls for this long goes IDLE: its connections close, and the
        /// next call resolves and connects again. Default 30 minutes; nil: never.
        public var idleTimeout: Duration? = .seconds(30 * 60)
        /// The `:authority` of every request, for servers and proxies that route by it.
        /// Default nil: the TLS `serverName` when set, else the target (`host:port`,
        /// `localhost` for a Unix socket).
        public var authority: String? = nil
        /// Metrics, tracing and the access log; all off by default. See `Observability`.
        public var observability = Observability()
        /// Where the channel logs its connection's life (connecting, connected, failed,
        /// GOAWAY, closed) at debug, and the access log at info. Silent by default.
        public var logger = Logger(label: "grpc-simple.channel", factory: { _ in SwiftLogNoOpLogHandler() })

        /// The defaults.
        public init() {}
    }
}
