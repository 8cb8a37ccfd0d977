import NIOCore
import NIOPosix
import NIOSSL

/// A connection to a gRPC server at an address, shared by every call made through it.
///
/// It connects lazily on the first call, multiplexes all calls over one HTTP/2
/// connection, and reconnects with exponential backoff after a failure. It is safe to
/// share across tasks; close it when done (or let it go: dropping it closes it).
///
/// ```swift
/// let channel = try Channel(host: "127.0.0.1", port: 50051)
/// let client = AsillaServiceClient(channel: channel)
/// let reply = try await client.checkMarried(.with { $0.name = "trung" })
/// ```
public final class Channel: Sendable {
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

        public init() {}
    }

    /// Client keepalive (grpc/grpc `doc/keepalive.md`): after `time` without a frame
    /// from the server, send a PING; if nothing comes back within `timeout`, close the
    /// connection. Its calls fail with UNAVAILABLE, and later calls reconnect.
    ///
    /// Servers limit how often clients may ping (5 minutes by default in every gRPC
    /// server, and only while calls are open); a client pinging more often gets GOAWAY
    /// ENHANCE_YOUR_CALM "too_many_pings", after which this channel doubles its `time`.
    /// Unlike grpc-go, `time` is not raised to at least 10 s: keep it at or above the
    /// server's minimum ping interval yourself.
    public struct Keepalive: Sendable {
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

    /// Where this channel connects, e.g. `127.0.0.1:50051` or `unix:/tmp/grpc.sock`.
    public let target: String
    let configuration: Configuration
    /// TLS, or a target on this machine: where credentials that need transport security
    /// may go.
    let transportIsSecure: Bool
    let eventLoop: any EventLoop
    let manager: NIOLoopBoundBox<ConnectionManager>

    /// A channel to `host:port`; `host` is a name, an IPv4 or an IPv6 address.
    public convenience init(host: String, port: Int, configuration: Configuration = .init()) throws {
        guard (0...65535).contains(port), !host.isEmpty else {
            throw RPCError(.invalidArgument, "invalid address \(host):\(port)")
        }
        try self.init(parsed: .hostAndPort(host: host, port: port), configuration: configuration)
    }

    /// A channel to a target string: `host:port`, `[::1]:50051` or `unix:/path/to/socket`.
    public convenience init(target: String, configuration: Configuration = .init()) throws {
        guard let parsed = Target.parse(target) else {
            throw RPCError(.invalidArgument, "invalid target '\(target)': expected host:port, [ipv6]:port or unix:/path")
        }
        try self.init(parsed: parsed, configuration: configuration)
    }

    private init(parsed: Target, configuration: Configuration) throws {
        let tlsContext = try configuration.tls?.makeContext()
        self.target = parsed.description
        self.configuration = configuration
        self.transportIsSecure = configuration.tls != nil || parsed.isThisMachine
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        self.eventLoop = eventLoop
        self.manager = NIOLoopBoundBox.makeBoxSendingValue(
            ConnectionManager(target: parsed, eventLoop: eventLoop, configuration: configuration, tlsContext: tlsContext),
            eventLoop: eventLoop
        )
    }

    deinit {
        let manager = self.manager
        self.eventLoop.execute { manager.value.shutdown() }
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE.
    public func close() async {
        let manager = self.manager
        try? await self.eventLoop.submit { manager.value.shutdown() }.get()
    }
}
