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
/// // logs "listening on 0.0.0.0:50051" to standard error
/// try await server.waitForTermination()
/// ```
public final class Server: Sendable {
    private enum State {
        case idle
        case running(listener: any Channel, group: MultiThreadedEventLoopGroup)
        case stopped
    }

    let router: Router
    private let workers: Int
    let configuration: Configuration
    private let services: [any GRPCService]
    private let state = NIOLockedValueBox(State.idle)
    let connections = ServerConnections()
    /// Nil when `configuration.observability` records nothing.
    let observer: ServerObserver?
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
        let observer = ServerObserver(
            configuration.observability, methods: router.methods, logger: configuration.logger)
        router = router.intercepted(by: interceptors)
        if let metrics = observer?.metrics {
            router.wrapMethods { handler in
                var measured = handler
                measured.metrics = metrics.method(path: handler.method.path)
                return measured
            }
        }
        self.router = router
        self.observer = observer
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

    /// Whether `shutdown` has begun or ended.
    var hasStopped: Bool {
        self.state.withLockedValue { state in
            if case .stopped = state { return true }
            return false
        }
    }

    /// The port the server listens on, once started.
    public var port: Int? { self.address?.port }

    /// Starts listening. `host` is an IPv4 or IPv6 address or a name (`0.0.0.0` or `::`
    /// for every interface, `127.0.0.1` for this machine only); port 0 picks a free port.
    /// Throws `Server.BindError` when it cannot listen there (the port is taken, ...).
    public func start(host: String = "0.0.0.0", port: Int) async throws {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        try await self.start(describedAs: address) { bootstrap in
            bootstrap
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: host, port: port)
        }
    }

    /// Starts listening on a Unix domain socket at `path` (clients use `unix:<path>`).
    /// Throws `Server.BindError` when it cannot.
    public func start(unixDomainSocketPath path: String) async throws {
        try await self.start(describedAs: "unix:\(path)") { bootstrap in
            bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
        }
    }

    private func start(
        describedAs address: String,
        bind: (ServerBootstrap) -> EventLoopFuture<any Channel>
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
        let listener: any Channel
        do {
            listener = try await bind(bootstrap).get()
        } catch {
            try? await group.shutdownGracefully()
            throw BindError(address: address, error: error)
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
        // At notice, so that the default logger (standard error, unbuffered) shows it at once.
        self.configuration.logger.notice("listening on \(listener.localAddress.map(Self.hostAndPort) ?? address)")
    }

    /// `127.0.0.1:50051`, `[::1]:50051` or `unix:/path`: the address as clients write it.
    private static func hostAndPort(_ address: SocketAddress) -> String {
        switch address {
        case .v4(let v4): "\(v4.host):\(address.port ?? 0)"
        case .v6(let v6): "[\(v6.host)]:\(address.port ?? 0)"
        case .unixDomainSocket: "unix:\(address.pathname ?? "")"
        }
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
        let current: (any Channel, MultiThreadedEventLoopGroup)? = self.state.withLockedValue { state in
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
        let handlers = self.connections.beginShutdown()
        for handler in handlers {
            handler.eventLoop.execute { handler.value.startDraining() }
        }
        await self.connections.waitUntilEmpty(timeout: gracePeriod)
        for handler in self.connections.open {
            handler.eventLoop.execute { handler.value.forceClose(reason: "the server is shutting down") }
        }
        try? await group.shutdownGracefully()
        self.markTerminated()
        self.configuration.logger.notice("stopped")
    }

    /// Wakes everyone in `waitForTermination`, now and later.
    private func markTerminated() {
        let waiters = self.terminated.withLockedValue { waiters in
            defer { waiters = nil }
            return waiters ?? []
        }
        for waiter in waiters { waiter.resume() }
    }
}
