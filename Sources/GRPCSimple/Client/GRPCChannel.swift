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
/// let channel = try GRPCChannel(host: "127.0.0.1", port: 50051)
/// let client = AsillaServiceClient(channel: channel)
/// let reply = try await client.checkMarried(.with { $0.name = "trung" })
/// ```
public final class GRPCChannel: Sendable {
    /// Where this channel connects, e.g. `127.0.0.1:50051` or `unix:/tmp/grpc.sock`.
    public let target: String
    let configuration: Configuration
    /// TLS, or a target on this machine: where credentials that need transport security
    /// may go.
    let transportIsSecure: Bool
    let eventLoop: any EventLoop
    let manager: NIOLoopBoundBox<ConnectionManager>
    /// Nil when `configuration.observability` records nothing.
    let observer: ClientObserver?

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
            throw RPCError(
                .invalidArgument, "invalid target '\(target)': expected host:port, [ipv6]:port or unix:/path")
        }
        try self.init(parsed: parsed, configuration: configuration)
    }

    private init(parsed: Target, configuration: Configuration) throws {
        let tlsContext = try configuration.tls?.makeContext()
        self.target = parsed.description
        self.configuration = configuration
        self.transportIsSecure = configuration.tls != nil || parsed.isThisMachine
        self.observer = ClientObserver(configuration.observability, target: parsed, logger: configuration.logger)
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        self.eventLoop = eventLoop
        self.manager = NIOLoopBoundBox.makeBoxSendingValue(
            ConnectionManager(
                target: parsed, eventLoop: eventLoop, configuration: configuration, tlsContext: tlsContext),
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
