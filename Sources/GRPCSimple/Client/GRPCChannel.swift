import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A virtual connection to a gRPC service, shared by every call made through it.
///
/// It resolves its target to the servers' addresses (DNS, fixed lists, Unix sockets, or a
/// resolver of your own), keeps connections to them as its load-balancing policy says
/// (`pick_first` by default, `round_robin`, `least_request`), reconnects with exponential
/// backoff, and multiplexes its calls over HTTP/2. It connects on the first call, is safe
/// to share across tasks, and goes idle when unused. Close it when done (or let it go:
/// dropping it closes it).
///
/// ```swift
/// let channel = try GRPCChannel(host: "127.0.0.1", port: 50051)
/// let client = AsillaServiceClient(channel: channel)
/// let reply = try await client.checkMarried(.with { $0.name = "trung" })
///
/// var configuration = GRPCChannel.Configuration()
/// configuration.loadBalancing = .roundRobin
/// let replicas = try GRPCChannel(target: "dns:///person.default.svc.cluster.local:50051", configuration: configuration)
/// ```
public final class GRPCChannel: Sendable {
    /// Where this channel connects, as it was given: `localhost:50051`,
    /// `dns:///example.com:443`, `ipv4:10.0.0.1:50051,10.0.0.2:50051`, `unix:/tmp/grpc.sock`.
    public let target: String
    let configuration: Configuration
    /// TLS, or a target on this machine: where credentials that need transport security
    /// may go.
    let transportIsSecure: Bool
    let eventLoop: any EventLoop
    let core: NIOLoopBoundBox<ChannelCore>
    /// The service config in force (the resolver's, else the default); read per call only
    /// when the channel can have one.
    private let serviceConfig: NIOLockedValueBox<ServiceConfig?>
    private let mayHaveServiceConfig: Bool
    /// Nil when `configuration.observability` records nothing.
    let observer: ClientObserver?

    /// A channel to `host:port`; `host` is a name (resolved by DNS), or an IPv4 or IPv6
    /// address.
    public convenience init(host: String, port: Int, configuration: Configuration = .init()) throws {
        guard (0...65535).contains(port), !host.isEmpty else {
            throw RPCError(.invalidArgument, "invalid address \(host):\(port)")
        }
        let target: ChannelTarget
        let written = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        if let address = try? SocketAddress(ipAddress: host, port: port) {
            target =
                address.protocol == .inet
                ? ChannelTarget(scheme: "ipv4", endpoint: "\(host):\(port)")
                : ChannelTarget(scheme: "ipv6", endpoint: "[\(host)]:\(port)")
        } else {
            target = ChannelTarget(scheme: "dns", endpoint: "\(host):\(port)")
        }
        // Named as gRPC names a `host:port` target (A66's `grpc.target`), whatever the
        // channel resolves it with.
        try self.init(
            parsed: target, written: written, canonical: "dns:///\(written)", configuration: configuration)
    }

    /// A channel to a target (grpc/grpc `doc/naming.md`; see `ChannelTarget`): `host:port`,
    /// `dns:///host:port`, `ipv4:10.0.0.1:50051,10.0.0.2:50051`, `ipv6:[::1]:50051`,
    /// `unix:/path/to/socket`, `unix-abstract:name`, or a scheme of your own resolver.
    public convenience init(target: String, configuration: Configuration = .init()) throws {
        let known = ChannelTarget.builtInSchemes.union(configuration.nameResolvers.map(\.scheme))
        let parsed = ChannelTarget(parsing: target, knownSchemes: known)
        try self.init(
            parsed: parsed,
            written: target,
            canonical: parsed.scheme == "dns" && parsed.authority == nil
                ? "dns:///\(parsed.endpoint)" : parsed.description,
            configuration: configuration
        )
    }

    /// - Parameters:
    ///   - written: The target as the user wrote it, for messages.
    ///   - canonical: Its canonical form (`dns:///host:port`, `ipv4:…`), for metrics.
    private init(parsed target: ChannelTarget, written: String, canonical: String, configuration: Configuration)
        throws
    {
        let tlsContext = try configuration.tls?.makeContext()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let resolverFactory = try Self.resolverFactory(for: target, configuration: configuration, eventLoop: eventLoop)
        // A resolver that cannot resolve the target says so now, not at the first call.
        _ = try resolverFactory.makeResolver(for: target)
        self.target = written
        self.configuration = configuration
        self.transportIsSecure = configuration.tls != nil || target.isThisMachine
        self.observer = ClientObserver(
            configuration.observability, target: target, canonicalTarget: canonical, logger: configuration.logger)
        self.eventLoop = eventLoop
        let serviceConfig = NIOLockedValueBox(configuration.serviceConfig)
        self.serviceConfig = serviceConfig
        self.mayHaveServiceConfig = configuration.serviceConfig != nil || !configuration.nameResolvers.isEmpty
        let connector = SubchannelConnector(
            configuration: configuration,
            eventLoop: eventLoop,
            tlsContext: tlsContext,
            authority: configuration.authority ?? configuration.tls?.serverName ?? target.requestAuthority,
            tlsHostName: target.tlsHost,
            targetDescription: written
        )
        self.core = NIOLoopBoundBox.makeBoxSendingValue(
            ChannelCore(
                target: target,
                targetDescription: written,
                eventLoop: eventLoop,
                connector: connector,
                resolverFactory: resolverFactory,
                policyFactory: configuration.loadBalancing.factory,
                idleTimeout: configuration.idleTimeout,
                defaultServiceConfig: configuration.serviceConfig,
                publishServiceConfig: { config in serviceConfig.withLockedValue { $0 = config } }
            ),
            eventLoop: eventLoop
        )
    }

    /// The resolver for `target`'s scheme: the configuration's own, else a built-in one.
    private static func resolverFactory(
        for target: ChannelTarget,
        configuration: Configuration,
        eventLoop: any EventLoop
    ) throws -> any NameResolverFactory {
        if let custom = configuration.nameResolvers.last(where: { $0.scheme == target.scheme }) {
            return custom
        }
        switch target.scheme {
        case "dns":
            return DNSResolverFactory(
                minimumInterval: configuration.minimumResolutionInterval.timeAmount,
                eventLoop: eventLoop
            )
        case "ipv4", "ipv6", "unix", "unix-abstract":
            return FixedAddressResolverFactory(scheme: target.scheme)
        default:
            throw RPCError(.invalidArgument, "no resolver for the scheme of the target '\(target)'")
        }
    }

    /// What the service config in force says about `method`, if anything.
    func methodConfig(for method: MethodDescriptor) -> MethodConfig? {
        guard self.mayHaveServiceConfig else { return nil }
        return self.serviceConfig.withLockedValue { $0?.methodConfig(for: method) }
    }

    deinit {
        let core = self.core
        self.eventLoop.execute { core.value.shutdown() }
    }

    /// Closes the channel; calls in flight fail with UNAVAILABLE.
    public func close() async {
        let core = self.core
        try? await self.eventLoop.submit { core.value.shutdown() }.get()
    }
}
