import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL

/// A gRPC server: serves your services on a host and port.
///
/// ```swift
/// let server = Server(services: [PersonServer()])
/// try await server.start(host: "0.0.0.0", port: 50051)
/// print("listening on \(server.address!)")
/// try await server.waitForTermination()
/// ```
public final class Server: Sendable {
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
        /// TLS, or nil (the default) for plaintext HTTP/2. Its PEM material is read by
        /// `start`; a connection whose handshake fails is closed (and logged), never the server.
        public var tls: ServerTLSConfiguration? = nil

        // Keepalive and connection lifetime (grpc/grpc doc/keepalive.md; grpc-go's defaults).

        /// The shortest interval allowed between a client's PINGs. A client pinging more
        /// often gets strikes; after two, the next early PING gets GOAWAY
        /// ENHANCE_YOUR_CALM "too_many_pings" and the connection closes. Default 5 minutes.
        public var minimumPingInterval: Duration = .seconds(300)
        /// Whether clients may ping while they have no call open; when false, a PING
        /// without calls must come at least two hours after the previous one. Default false.
        public var permitPingsWithoutCalls = false
        /// A connection with no call for this long is closed (GOAWAY NO_ERROR). Default nil: never.
        public var maximumConnectionIdle: Duration?
        /// A connection older than this (±10 % jitter) is told to go away (GOAWAY NO_ERROR)
        /// and closes once its calls are done. Default nil: no limit.
        public var maximumConnectionAge: Duration?
        /// How long calls in flight get to finish after `maximumConnectionAge`; then the
        /// connection closes and they fail. Default nil: as long as they take.
        public var maximumConnectionAgeGrace: Duration?
        /// After this long without a frame from a client, the server PINGs it. Default 2
        /// hours; at least 1 s (shorter times are raised to it, as in grpc-go).
        public var keepaliveTime: Duration = .seconds(2 * 60 * 60)
        /// A client that sends nothing within this long after a keepalive PING is
        /// considered gone and its connection closed. Default 20 s.
        public var keepaliveTimeout: Duration = .seconds(20)
        /// Where the server logs connections and failed handlers.
        public var logger = Logger(label: "grpc-simple.server", factory: { _ in SwiftLogNoOpLogHandler() })

        public init() {}
    }

    private enum State {
        case idle
        case running(listener: any NIOCore.Channel, group: MultiThreadedEventLoopGroup)
        case stopped
    }

    private struct Connections {
        var byID: [ObjectIdentifier: NIOLoopBound<ServerConnectionHandler>] = [:]
        var isShuttingDown = false
    }

    private let router: Router
    private let workers: Int
    private let configuration: Configuration
    private let services: [any GRPCService]
    private let state = NIOLockedValueBox(State.idle)
    private let connections = NIOLockedValueBox(Connections())
    private let terminated: NIOLockedValueBox<[CheckedContinuation<Void, Never>]?> = NIOLockedValueBox([])
    /// Helpers that live as long as the server (signal watchers).
    private let retained = NIOLockedValueBox<[any Sendable]>([])

    func retainForLifetime(_ object: any Sendable) {
        self.retained.withLockedValue { $0.append(object) }
    }

    /// One worker thread per core: the default for `workers`.
    public static var defaultWorkerCount: Int { System.coreCount }

    /// - Parameters:
    ///   - services: The services to serve (the values implementing generated protocols).
    ///   - interceptors: Run around every call, the first outermost (authentication,
    ///     logging, metrics); see `ServerInterceptor`.
    ///   - workers: Event-loop threads that serve connections. Defaults to one per core.
    ///   - configuration: Limits and tuning.
    public init(
        services: [any GRPCService],
        interceptors: [any ServerInterceptor] = [],
        workers: Int = System.coreCount,
        configuration: Configuration = .init()
    ) {
        var router = Router()
        for service in services {
            service.register(with: &router)
        }
        self.router = router.intercepted(by: interceptors)
        self.services = services
        self.workers = max(1, workers)
        self.configuration = configuration
    }

    /// The address the server listens on, once started. With port 0 this tells the port
    /// the system picked.
    public var address: SocketAddress? {
        self.state.withLockedValue { state in
            if case .running(let listener, _) = state { return listener.localAddress }
            return nil
        }
    }

    /// The port the server listens on, once started.
    public var port: Int? { self.address?.port }

    /// Starts listening. `host` is an IPv4 or IPv6 address or a name (`0.0.0.0` or `::`
    /// for every interface, `127.0.0.1` for this machine only); port 0 picks a free port.
    public func start(host: String = "0.0.0.0", port: Int) async throws {
        try await self.start(describedAs: "\(host):\(port)") { bootstrap in
            bootstrap
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: host, port: port)
        }
    }

    /// Starts listening on a Unix domain socket at `path` (clients use `unix:<path>`).
    public func start(unixDomainSocketPath path: String) async throws {
        try await self.start(describedAs: "unix:\(path)") { bootstrap in
            bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
        }
    }

    private func start(
        describedAs address: String,
        bind: (ServerBootstrap) -> EventLoopFuture<any NIOCore.Channel>
    ) async throws {
        let ticks = TickCounter()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: self.workers, metricsDelegate: ticks)
        var executors: [ObjectIdentifier: EventLoopTaskExecutor] = [:]
        for loop in group.makeIterator() {
            executors[ObjectIdentifier(loop)] = EventLoopTaskExecutor(eventLoop: loop, budget: ticks.budget(for: loop))
        }
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = try self.configuration.tls?.makeContext()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        let bootstrap = self.makeBootstrap(group: group, executors: executors, tlsContext: tlsContext)
        let listener: any NIOCore.Channel
        do {
            listener = try await bind(bootstrap).get()
        } catch {
            try? await group.shutdownGracefully()
            throw RPCError(.unavailable, "could not listen on \(address): \(ConnectionManager.describe(error))")
        }
        let started: Bool = self.state.withLockedValue { state in
            guard case .idle = state else { return false }
            state = .running(listener: listener, group: group)
            return true
        }
        guard started else {
            try? await listener.close()
            try? await group.shutdownGracefully()
            throw RPCError(.failedPrecondition, "the server was already started")
        }
        self.configuration.logger.info("listening", metadata: ["address": "\(listener.localAddress.map(ServerConnectionHandler.describe) ?? address)"])
    }

    /// Waits until the server has shut down.
    public func waitForTermination() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting: Bool = self.terminated.withLockedValue { waiters in
                guard waiters != nil else { return false }
                waiters!.append(continuation)
                return true
            }
            if !waiting { continuation.resume() }
        }
    }

    /// Stops the server gracefully: stops accepting connections, tells every client to
    /// start no new call (GOAWAY), lets calls in flight finish for up to `gracePeriod`,
    /// then cancels what remains and closes.
    public func shutdown(gracePeriod: Duration = .seconds(5)) async {
        let current: (any NIOCore.Channel, MultiThreadedEventLoopGroup)? = self.state.withLockedValue { state in
            guard case .running(let listener, let group) = state else { return nil }
            state = .stopped
            return (listener, group)
        }
        guard let (listener, group) = current else {
            let neverStarted: Bool = self.state.withLockedValue { state in
                guard case .idle = state else { return false }
                state = .stopped
                return true
            }
            if neverStarted {
                self.markTerminated()
            }
            await self.waitForTermination()
            return
        }
        for service in self.services {
            service.serverWillShutDown()
        }
        try? await listener.close()
        let handlers = self.connections.withLockedValue { connections in
            connections.isShuttingDown = true
            return Array(connections.byID.values)
        }
        for handler in handlers {
            handler.eventLoop.execute { handler.value.startDraining() }
        }
        let deadline = ContinuousClock.now.advanced(by: gracePeriod)
        while ContinuousClock.now < deadline {
            if self.connections.withLockedValue({ $0.byID.isEmpty }) { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let remaining = self.connections.withLockedValue { Array($0.byID.values) }
        for handler in remaining {
            handler.eventLoop.execute { handler.value.forceClose() }
        }
        try? await group.shutdownGracefully()
        self.markTerminated()
        self.configuration.logger.info("stopped")
    }

    /// Wakes everyone in `waitForTermination`, now and later.
    private func markTerminated() {
        let waiters = self.terminated.withLockedValue { waiters in
            defer { waiters = nil }
            return waiters ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    private func makeBootstrap(
        group: MultiThreadedEventLoopGroup,
        executors: [ObjectIdentifier: EventLoopTaskExecutor],
        tlsContext: NIOSSLContext?
    ) -> ServerBootstrap {
        let configuration = self.configuration
        let router = self.router
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let executor = executors[ObjectIdentifier(channel.eventLoop)]
                        ?? EventLoopTaskExecutor(eventLoop: channel.eventLoop, budget: nil)
                    try self.configure(channel, router: router, configuration: configuration, executor: executor, tlsContext: tlsContext)
                }
            }
    }

    private func configure(
        _ channel: any NIOCore.Channel,
        router: Router,
        configuration: Configuration,
        executor: EventLoopTaskExecutor,
        tlsContext: NIOSSLContext?
    ) throws {
        var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        connectionConfiguration.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: configuration.maximumConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: configuration.maximumHeaderListSize),
            HTTP2Setting(parameter: .initialWindowSize, value: configuration.streamWindowSize),
        ]
        var streamConfiguration = NIOHTTP2Handler.StreamConfiguration()
        streamConfiguration.targetWindowSize = configuration.streamWindowSize
        let http2 = NIOHTTP2Handler(
            mode: .server,
            connectionConfiguration: connectionConfiguration,
            streamConfiguration: streamConfiguration
        )
        let handler = ServerConnectionHandler(
            configuration: .init(
                router: router,
                maximumReceiveMessageSize: configuration.maximumReceiveMessageSize,
                streamWindowSize: configuration.streamWindowSize,
                connectionWindowSize: configuration.connectionWindowSize,
                handshakeTimeout: configuration.handshakeTimeout,
                pingPolicy: ServerPingPolicy(
                    minimumInterval: configuration.minimumPingInterval.timeAmount,
                    permitWithoutCalls: configuration.permitPingsWithoutCalls
                ),
                maximumConnectionIdle: configuration.maximumConnectionIdle,
                maximumConnectionAge: configuration.maximumConnectionAge,
                maximumConnectionAgeGrace: configuration.maximumConnectionAgeGrace,
                // At least 1 s, as grpc-go: a zero time would ping in a loop.
                keepaliveTime: max(configuration.keepaliveTime, .seconds(1)),
                keepaliveTimeout: configuration.keepaliveTimeout,
                logger: configuration.logger
            ),
            executor: executor
        )
        let sync = channel.pipeline.syncOperations
        if let tlsContext {
            // TLS first: HTTP/2 reads and writes the decrypted bytes. The handshake timer of
            // `handler` runs from now, so a client that stalls the TLS handshake is closed too.
            let tls = NIOSSLServerHandler(context: tlsContext)
            try sync.addHandler(tls)
            handler.peerCertificateLookup = { tls.peerCertificate.map(PeerCertificate.init) }
        }
        try sync.addHandler(http2)
        try sync.addHandler(handler)

        let id = ObjectIdentifier(channel)
        let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        let accepted = self.connections.withLockedValue { connections in
            guard !connections.isShuttingDown else { return false }
            connections.byID[id] = bound
            return true
        }
        if !accepted {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { _ in
            self.connections.withLockedValue { _ = $0.byID.removeValue(forKey: id) }
        }
    }
}
