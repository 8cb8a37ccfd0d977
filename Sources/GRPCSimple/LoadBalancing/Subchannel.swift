import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// A connection to one server address, kept as its load-balancing policy asks.
///
/// It connects when asked (`connect()`), reports every state change to its policy, and
/// carries the calls the policy picks it for while READY. After a failed attempt it is in
/// TRANSIENT_FAILURE for its backoff delay (grpc/grpc `doc/connection-backoff.md`), then
/// IDLE until asked to connect again; a connection that closes or gets GOAWAY makes it IDLE
/// too. Lives on its channel's event loop, like everything a policy touches.
public final class Subchannel {
    /// The server it connects to.
    public let address: ServerAddress
    /// Its state now, as its policy sees it: TRANSIENT_FAILURE while outlier detection
    /// ejects its address, whatever its connection does.
    public var state: ConnectivityState {
        self.isEjected && self.connectivity != .shutdown ? .transientFailure : self.connectivity
    }
    /// Why its last connection attempt failed, while in TRANSIENT_FAILURE (or that outlier
    /// detection ejected it).
    public var failure: RPCError? {
        guard self.isEjected else { return self.connectionFailure }
        return RPCError(.unavailable, "\(self.address) is ejected by outlier detection")
    }

    /// The state of its connection, ejected or not.
    private(set) var connectivity = ConnectivityState.idle
    private var connectionFailure: RPCError?
    /// Whether outlier detection ejected its address: its policy sees TRANSIENT_FAILURE and
    /// hears of no state change until it is let back (`OutlierDetectionPolicy` sets it and
    /// tells the policy).
    var isEjected = false

    /// Calls open on its connection now: what `least_request` compares.
    public var activeCalls: Int { self.connection?.activeCalls ?? 0 }

    private let connector: SubchannelConnector
    private unowned let owner: any SubchannelOwner
    private var connection: ClientConnectionHandler?
    private var isConnecting = false
    private var backoff: ConnectionBackoff.Iterator
    private var backoffTimer: Scheduled<Void>?
    /// Every connection still open, including ones draining after GOAWAY.
    private var liveConnections: [ObjectIdentifier: ClientConnectionHandler] = [:]
    /// The health watch of its connection, when the service config asks for one.
    private var healthWatch: HealthWatch?
    private var healthRetry: Scheduled<Void>?
    /// The delays between health watches that fail before the server answers: the
    /// connection back-off's (gRFC A17), restarted by every answer.
    private var healthBackoff: ConnectionBackoff.Iterator

    init(address: ServerAddress, connector: SubchannelConnector, owner: any SubchannelOwner) {
        self.address = address
        self.connector = connector
        self.owner = owner
        self.backoff = ConnectionBackoff.Iterator(policy: connector.configuration.backoff)
        self.healthBackoff = self.backoff
    }

    /// Starts connecting, if idle; does nothing in any other state.
    public func connect() {
        guard self.connectivity == .idle else { return }
        self.log("connecting")
        self.setState(.connecting)
        self.isConnecting = true
        self.connector.connect(to: self.address, keepalive: self.owner.keepalive).assumeIsolated().whenComplete {
            result in
            self.isConnecting = false
            switch result {
            case .success(let channel): self.connected(channel)
            case .failure(let error): self.connectFailed(error)
            }
        }
    }

    /// Starts `stream` on this subchannel's connection; false (doing nothing) when it has no
    /// usable one, so the caller picks again.
    func open(_ stream: ClientStream) -> Bool {
        guard self.connectivity == .ready, let connection = self.connection, connection.isUsable else { return false }
        connection.open(stream)
        return true
    }

    private func connected(_ channel: any Channel) {
        guard let handler = try? channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self) else {
            channel.close(promise: nil)
            return self.connectFailed(RPCError(.internal, "the connection pipeline is missing its gRPC handler"))
        }
        guard self.connectivity == .connecting else {
            // Shut down while connecting.
            channel.close(promise: nil)
            return
        }
        handler.delegate = self
        self.log("connected", ["peer": "\(channel.remoteAddress.map(NetworkDescription.address) ?? "unknown")"])
        let id = ObjectIdentifier(handler)
        self.liveConnections[id] = handler
        channel.closeFuture.assumeIsolated().whenComplete { _ in
            self.liveConnections[id] = nil
        }
        self.backoff = ConnectionBackoff.Iterator(policy: self.connector.configuration.backoff)
        self.connection = handler
        self.connectionFailure = nil
        if let service = self.owner.healthCheckServiceName {
            // READY once the server says SERVING (gRFC A17).
            self.healthBackoff = ConnectionBackoff.Iterator(policy: self.connector.configuration.backoff)
            self.watchHealth(service, on: handler)
        } else {
            self.setState(.ready)
        }
    }

    private func watchHealth(_ service: String, on connection: ClientConnectionHandler) {
        var answered = false
        self.healthWatch = HealthWatch(service: service, on: connection) { [weak self, weak connection] verdict in
            guard let self, let connection, self.connection === connection else { return }
            self.log("health of '\(service)': \(verdict)")
            switch verdict {
            case .serving, .notServing:
                answered = true
                self.healthBackoff = ConnectionBackoff.Iterator(policy: self.connector.configuration.backoff)
            case .unimplemented, .failed:
                break
            }
            switch verdict {
            case .serving:
                self.connectionFailure = nil
                self.setState(.ready)
            case .notServing(let status):
                self.connectionFailure = RPCError(
                    .unavailable, "\(self.address) reports \(status) for the health of '\(service)'")
                self.setState(.transientFailure)
            case .unimplemented:
                // The server has no health service: health checking does not apply (gRFC A17).
                self.setState(.ready)
            case .failed:
                // Watch again, unless the connection is gone (then the subchannel goes idle):
                // at once after a watch the server had answered, else after the next
                // back-off delay, so a server that keeps failing the watch is not hammered
                // (gRFC A17). The subchannel keeps its state meanwhile.
                self.healthWatch = nil
                let delay: TimeAmount = answered ? .zero : self.healthBackoff.next().timeAmount
                self.healthRetry = self.connector.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                    guard self.connection === connection else { return }
                    self.watchHealth(service, on: connection)
                }
            }
        }
    }

    /// The service config's health check changed: a connected subchannel stops its watch
    /// and starts one of the new service; it keeps its state until the server's first
    /// answer. Without a check any more, a subchannel its server's health had held back is
    /// READY again.
    func healthCheckChanged() {
        guard let connection = self.connection else { return }
        self.stopWatchingHealth()
        if let service = self.owner.healthCheckServiceName {
            self.healthBackoff = ConnectionBackoff.Iterator(policy: self.connector.configuration.backoff)
            self.watchHealth(service, on: connection)
        } else if self.connectivity != .ready {
            self.connectionFailure = nil
            self.setState(.ready)
        }
    }

    private func stopWatchingHealth() {
        self.healthWatch?.cancel()
        self.healthWatch = nil
        self.healthRetry?.cancel()
        self.healthRetry = nil
    }

    private func connectFailed(_ error: any Error) {
        guard self.connectivity == .connecting else { return }
        let detail: String
        if let tlsError = error as? TLSHandshakeError {
            detail = "\(tlsError)"
        } else if let rpcError = error as? RPCError {
            detail = rpcError.message
        } else {
            detail = NetworkDescription.error(error)
        }
        self.connectionFailure = RPCError(.unavailable, detail, cause: error)
        self.setState(.transientFailure)
        // Back off, then wait to be asked again; the addresses may have changed meanwhile.
        self.owner.subchannelWantsResolution(self)
        let delay = self.backoff.next()
        self.log("connection attempt failed", ["error": "\(detail)", "retry_in": "\(delay)"])
        self.backoffTimer = self.connector.eventLoop.assumeIsolated().scheduleTask(in: delay.timeAmount) {
            self.backoffTimer = nil
            guard self.connectivity == .transientFailure else { return }
            self.setState(.idle)
        }
    }

    /// Connection events go to the channel's logger at debug, each with the target and
    /// the address.
    private func log(_ message: Logger.Message, _ metadata: Logger.Metadata = [:]) {
        var metadata = metadata
        metadata["grpc.target"] = "\(self.connector.targetDescription)"
        metadata["address"] = "\(self.address)"
        self.connector.configuration.logger.debug(message, metadata: metadata)
    }

    private func setState(_ state: ConnectivityState) {
        guard self.connectivity != state, self.connectivity != .shutdown else { return }
        self.connectivity = state
        self.owner.subchannel(self, didChangeTo: state)
    }

    /// Closes every connection; calls on them fail with UNAVAILABLE. Reports nothing more.
    func shutdown() {
        self.stopWatchingHealth()
        self.connectivity = .shutdown
        self.backoffTimer?.cancel()
        self.backoffTimer = nil
        self.connection = nil
        for connection in self.liveConnections.values {
            connection.close()
        }
    }

    /// Closes its connections once their calls have ended: the policy no longer uses it.
    func drain() {
        self.stopWatchingHealth()
        self.connectivity = .shutdown
        self.backoffTimer?.cancel()
        self.backoffTimer = nil
        self.connection = nil
        for connection in self.liveConnections.values {
            connection.drain()
        }
    }
}

extension Subchannel: ClientConnectionDelegate {
    func connectionStoppedTakingCalls(_ handler: ClientConnectionHandler) {
        guard self.connection === handler else { return }
        self.log("connection stopped taking calls (GOAWAY or closed)")
        self.stopWatchingHealth()
        self.connection = nil
        self.setState(.idle)
        self.owner.subchannelWantsResolution(self)
    }

    func serverRejectedTooManyPings() {
        self.owner.serverRejectedTooManyPings()
    }

    func retry(_ stream: ClientStream) {
        self.owner.start(stream)
    }
}

/// Who owns a subchannel: told of its state changes and of its wish for fresh addresses,
/// and given back the calls its server did not process (transparent retry).
protocol SubchannelOwner: AnyObject {
    /// The keepalive new connections use.
    var keepalive: GRPCChannel.Keepalive? { get }
    /// The service whose health each connection watches before it takes calls, if any.
    var healthCheckServiceName: String? { get }
    /// A server said GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
    func serverRejectedTooManyPings()
    func subchannel(_ subchannel: Subchannel, didChangeTo state: ConnectivityState)
    func subchannelWantsResolution(_ subchannel: Subchannel)
    func start(_ stream: ClientStream)
}

/// What a connection tells the subchannel that made it.
protocol ClientConnectionDelegate: AnyObject {
    /// It got GOAWAY or closed: new calls go elsewhere.
    func connectionStoppedTakingCalls(_ handler: ClientConnectionHandler)
    /// The server said GOAWAY ENHANCE_YOUR_CALM "too_many_pings": ping half as often.
    func serverRejectedTooManyPings()
    /// The server did not process this call: start it again, on any connection.
    func retry(_ stream: ClientStream)
}
