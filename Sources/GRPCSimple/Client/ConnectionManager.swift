import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL

/// Keeps a channel's connection: connects when the first call needs it, hands calls to
/// the live connection, and after a failure retries with exponential backoff
/// (grpc/grpc `doc/connection-backoff.md`). Lives on the channel's event loop.
///
/// States: idle → connecting → ready; a failed attempt → transientFailure, where calls
/// that don't wait for ready fail fast with the connection error, and after the backoff
/// delay a new attempt starts if calls are waiting (or the state returns to idle).
final class ConnectionManager {
    private struct Waiter {
        var stream: ClientStream
        var waitForReady: Bool
    }

    private enum State {
        case idle
        case connecting([Waiter])
        case ready(ClientConnectionHandler)
        case transientFailure(RPCError, [Waiter])
        case shutdown
    }

    private let target: Target
    private let eventLoop: any EventLoop
    private let configuration: GRPCChannel.Configuration
    /// Built once from `configuration.tls` (nil: plaintext); shared by every connection.
    private let tlsContext: NIOSSLContext?
    private var state = State.idle
    private var backoff: ConnectionBackoff.Iterator
    private var retryTimer: Scheduled<Void>?
    /// Every connection still open, including ones draining after GOAWAY.
    private var liveConnections: [ObjectIdentifier: ClientConnectionHandler] = [:]
    /// The keepalive new connections use: the configured one, with its `time` doubled
    /// each time a server answered GOAWAY "too_many_pings" (as grpc-go does).
    private(set) var keepalive: GRPCChannel.Keepalive?

    init(
        target: Target, eventLoop: any EventLoop, configuration: GRPCChannel.Configuration,
        tlsContext: NIOSSLContext? = nil
    ) {
        self.target = target
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.keepalive = configuration.keepalive
        self.tlsContext = tlsContext
        self.backoff = ConnectionBackoff.Iterator(policy: configuration.backoff)
    }

    /// Starts `stream` on a connection, connecting first if needed.
    func open(_ stream: ClientStream, waitForReady: Bool) {
        switch self.state {
        case .idle:
            self.state = .connecting([Waiter(stream: stream, waitForReady: waitForReady)])
            self.connect()
        case .connecting(var waiters):
            waiters.append(Waiter(stream: stream, waitForReady: waitForReady))
            self.state = .connecting(waiters)
        case .ready(let connection):
            if connection.isUsable {
                connection.open(stream)
            } else {
                self.state = .connecting([Waiter(stream: stream, waitForReady: waitForReady)])
                self.connect()
            }
        case .transientFailure(let error, var waiters):
            if waitForReady {
                waiters.append(Waiter(stream: stream, waitForReady: true))
                self.state = .transientFailure(error, waiters)
            } else {
                stream.cancel(error)
            }
        case .shutdown:
            stream.cancel(RPCError(.unavailable, "the channel to \(self.target) is closed"))
        }
    }

    /// Connection events go to the channel's logger at debug, each with the target.
    private func log(_ message: Logger.Message, _ metadata: Logger.Metadata = [:]) {
        var metadata = metadata
        metadata["grpc.target"] = "\(self.target)"
        self.configuration.logger.debug(message, metadata: metadata)
    }

    private func connect() {
        self.log("connecting")
        let connectTimeout = self.configuration.backoff.minimumConnectTimeout.timeAmount
        let configuration = self.configuration
        let target = self.target
        let keepalive = self.keepalive
        // With TLS, the connection is ready once its handshake is done, not at TCP connect.
        let tls = self.tlsContext.map { context in
            TLSSetup(context: context, handshakeDone: self.eventLoop.makePromise(), timeout: connectTimeout)
        }
        let bootstrap = ClientBootstrap(group: self.eventLoop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(
                        channel, target: target, configuration: configuration, keepalive: keepalive, tls: tls)
                }
            }
        var future: EventLoopFuture<any Channel>
        switch self.target {
        case .hostAndPort(let host, let port):
            future = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1).connect(host: host, port: port)
        case .unixSocket(let path):
            future = bootstrap.connect(unixDomainSocketPath: path)
        }
        if let handshakeDone = tls?.handshakeDone {
            future = future.flatMap { channel in
                handshakeDone.futureResult.map { channel }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
            future.whenFailure { handshakeDone.fail($0) }  // TCP failed: the handshake never started.
        }
        future.hop(to: self.eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                self.connected(channel)
            case .failure(let error):
                self.connectFailed(error)
            }
        }
    }

    /// What a TLS connection attempt needs: the shared context, and the promise the
    /// handshake completes.
    private struct TLSSetup {
        var context: NIOSSLContext
        var handshakeDone: EventLoopPromise<Void>
        var timeout: TimeAmount
    }

    private static func configure(
        _ channel: any Channel,
        target: Target,
        configuration: GRPCChannel.Configuration,
        keepalive: GRPCChannel.Keepalive?,
        tls: TLSSetup?
    ) throws {
        var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        connectionConfiguration.initialSettings = [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .maxHeaderListSize, value: configuration.maximumHeaderListSize),
            HTTP2Setting(parameter: .initialWindowSize, value: configuration.streamWindowSize),
        ]
        var streamConfiguration = NIOHTTP2Handler.StreamConfiguration()
        streamConfiguration.targetWindowSize = configuration.streamWindowSize
        let sync = channel.pipeline.syncOperations
        if let tls, let tlsConfiguration = configuration.tls {
            var host = "localhost"
            if case .hostAndPort(let name, _) = target { host = name }
            try sync.addHandler(
                NIOSSLClientHandler(context: tls.context, serverHostname: tlsConfiguration.sniName(connectingTo: host)))
            try sync.addHandler(
                TLSHandshakeObserver(
                    handshakeDone: tls.handshakeDone,
                    timeout: tls.timeout,
                    serverName: tlsConfiguration.serverName ?? host
                ))
        }
        try sync.addHandler(
            NIOHTTP2Handler(
                mode: .client, connectionConfiguration: connectionConfiguration,
                streamConfiguration: streamConfiguration))
        try sync.addHandler(
            ClientConnectionHandler(
                eventLoop: channel.eventLoop,
                authority: configuration.tls?.serverName ?? target.authority,
                scheme: tls == nil ? "http" : "https",
                target: target.description,
                connectionWindowSize: configuration.connectionWindowSize,
                keepalive: keepalive
            ))
    }

    private func connected(_ channel: any Channel) {
        guard let handler = try? channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self) else {
            channel.close(promise: nil)
            return self.connectFailed(RPCError(.internal, "the connection pipeline is missing its gRPC handler"))
        }
        guard case .connecting(let waiters) = self.state else {
            // Shut down while connecting.
            channel.close(promise: nil)
            return
        }
        handler.delegate = self
        let id = ObjectIdentifier(handler)
        self.liveConnections[id] = handler
        channel.closeFuture.assumeIsolated().whenComplete { _ in
            self.liveConnections[id] = nil
        }
        self.backoff = ConnectionBackoff.Iterator(policy: self.configuration.backoff)
        self.state = .ready(handler)
        self.log("connected", ["peer": "\(channel.remoteAddress.map(NetworkDescription.address) ?? "unknown")"])
        for waiter in waiters {
            handler.open(waiter.stream)
        }
    }

    private func connectFailed(_ error: any Error) {
        guard case .connecting(let waiters) = self.state else { return }
        let failure: RPCError
        if let tlsError = error as? TLSHandshakeError {
            failure = RPCError(.unavailable, "failed to connect to \(self.target): \(tlsError)", cause: error)
        } else {
            failure = RPCError(
                .unavailable,
                "failed to connect to \(self.target): \(NetworkDescription.error(error)); check that the server is running and listening on that address",
                cause: error
            )
        }
        var stillWaiting: [Waiter] = []
        for waiter in waiters where !waiter.stream.isFinished {
            if waiter.waitForReady {
                stillWaiting.append(waiter)
            } else {
                waiter.stream.cancel(failure)
            }
        }
        self.state = .transientFailure(failure, stillWaiting)
        let delay = self.backoff.next()
        self.log("connection attempt failed", ["error": "\(failure.message)", "retry_in": "\(delay)"])
        self.retryTimer = self.eventLoop.assumeIsolated().scheduleTask(in: delay.timeAmount) {
            self.retry()
        }
    }

    private func retry() {
        self.retryTimer = nil
        guard case .transientFailure(_, let waiters) = self.state else { return }
        let live = waiters.filter { !$0.stream.isFinished }
        if live.isEmpty {
            self.state = .idle
        } else {
            self.state = .connecting(live)
            self.connect()
        }
    }

    /// The connection got GOAWAY or closed: new calls go to a new connection.
    func connectionStoppedTakingCalls(_ handler: ClientConnectionHandler) {
        if case .ready(let current) = self.state, current === handler {
            self.state = .idle
            self.log("connection stopped taking calls (GOAWAY or closed); the next call reconnects")
        }
    }

    /// A server said GOAWAY ENHANCE_YOUR_CALM "too_many_pings": ping half as often.
    func serverRejectedTooManyPings() {
        guard var keepalive = self.keepalive else { return }
        // Capped at a day, far past any server's minimum, so repeated doubling cannot overflow.
        keepalive.time = min(keepalive.time * 2, .seconds(24 * 60 * 60))
        self.keepalive = keepalive
        self.log("the server said too_many_pings; pinging less often", ["keepalive_time": "\(keepalive.time)"])
    }

    func shutdown() {
        let previous = self.state
        self.state = .shutdown
        if case .shutdown = previous {} else { self.log("channel closed") }
        self.retryTimer?.cancel()
        let error = RPCError(.unavailable, "the channel to \(self.target) was closed")
        switch previous {
        case .connecting(let waiters), .transientFailure(_, let waiters):
            for waiter in waiters { waiter.stream.cancel(error) }
        case .idle, .ready, .shutdown:
            break
        }
        for connection in self.liveConnections.values {
            connection.close()
        }
    }
}
