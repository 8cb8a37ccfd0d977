import Logging
import NIOCore
import NIOSSL

/// The part of a channel that lives on its event loop: the resolver, the load-balancing
/// policy and its subchannels, the calls waiting for a pick, and the channel's
/// connectivity state.
///
/// A call is started here (`start`): the policy picks a READY subchannel, says to wait, or
/// fails it. Calls that wait (for a connection, or for ready) are picked again whenever the
/// policy reports a new state. The resolver starts with the first call; an unused channel
/// goes back to IDLE after `idleTimeout`, closing its connections.
final class ChannelCore: SubchannelOwner, LoadBalancerHelperParent {
    let eventLoop: any EventLoop
    let target: ChannelTarget
    let targetDescription: String
    private let connector: SubchannelConnector
    private let resolverFactory: any NameResolverFactory
    /// The channel's own policy, when no service config names one.
    private let policyFactory: any LoadBalancingPolicyFactory
    private let idleTimeout: TimeAmount?
    /// The channel's default service config.
    private let defaultServiceConfig: ServiceConfig?
    /// Told the service config in force whenever it changes (the channel reads it per call).
    private let publishServiceConfig: @Sendable (ServiceConfig?) -> Void

    private var resolver: (any NameResolver)?
    private var policy: (any LoadBalancingPolicy)?
    /// Whether the channel has left IDLE: its resolver runs.
    private var isActive = false
    private lazy var helper = LoadBalancerHelper(parent: self)
    private var subchannels: [ObjectIdentifier: Subchannel] = [:]
    /// Calls waiting for the policy to give them a subchannel.
    private var waiting: [ClientStream] = []
    private(set) var state = ConnectivityState.idle
    private var failure: RPCError?
    private var stateWatchers: [UInt64: (ConnectivityState) -> Void] = [:]
    private var nextWatcherID: UInt64 = 0
    private var idleTimer: Scheduled<Void>?
    /// When the channel last had a call, for the idle timeout.
    private var lastUsed = NIODeadline.now()
    private var resolutionBackoff: ConnectionBackoff.Iterator
    /// The keepalive new connections use: the configured one, with its `time` doubled
    /// each time a server answered GOAWAY "too_many_pings" (as grpc-go does, channel-wide).
    private(set) var keepalive: GRPCChannel.Keepalive?
    private var resolutionRetry: Scheduled<Void>?

    init(
        target: ChannelTarget,
        targetDescription: String,
        eventLoop: any EventLoop,
        connector: SubchannelConnector,
        resolverFactory: any NameResolverFactory,
        policyFactory: any LoadBalancingPolicyFactory,
        idleTimeout: Duration?,
        defaultServiceConfig: ServiceConfig? = nil,
        publishServiceConfig: @escaping @Sendable (ServiceConfig?) -> Void = { _ in }
    ) {
        self.defaultServiceConfig = defaultServiceConfig
        self.publishServiceConfig = publishServiceConfig
        self.target = target
        self.targetDescription = targetDescription
        self.eventLoop = eventLoop
        self.connector = connector
        self.resolverFactory = resolverFactory
        self.policyFactory = policyFactory
        self.idleTimeout = idleTimeout?.timeAmount
        self.resolutionBackoff = ConnectionBackoff.Iterator(policy: connector.configuration.backoff)
        self.keepalive = connector.configuration.keepalive
        self.retryBuffer = RetryBufferBudget(limit: connector.configuration.channelRetryBufferSize)
    }

    func serverRejectedTooManyPings() {
        guard var keepalive = self.keepalive else { return }
        // Capped at a day, far past any server's minimum, so repeated doubling cannot overflow.
        keepalive.time = min(keepalive.time * 2, .seconds(24 * 60 * 60))
        self.keepalive = keepalive
        self.connector.configuration.logger.debug(
            "the server said too_many_pings; pinging less often",
            metadata: ["grpc.target": "\(self.targetDescription)", "keepalive_time": "\(keepalive.time)"]
        )
    }

    // MARK: Calls

    /// Starts `stream`: on a subchannel the policy picks, or waiting for one.
    func start(_ stream: ClientStream) {
        guard !stream.isFinished else { return }
        stream.record?.attemptStarted()
        self.lastUsed = .now()
        if stream.core == nil {
            stream.core = self
            stream.shareRetryBuffer(self.retryBuffer)
        }
        switch self.state {
        case .shutdown:
            return stream.cancel(RPCError(.unavailable, "the channel to \(self.targetDescription) is closed"))
        case .idle where !self.isActive:
            self.exitIdle()
        default:
            break
        }
        self.place(stream)
    }

    /// Starts `stream` again after `delay` (a retry's backoff).
    func start(_ stream: ClientStream, after delay: Duration) {
        guard delay > .zero else { return self.start(stream) }
        self.eventLoop.assumeIsolated().scheduleTask(in: delay.timeAmount) {
            self.start(stream)
        }
    }

    /// Asks the policy for `stream`'s subchannel and acts on the answer.
    private func place(_ stream: ClientStream) {
        if self.state == .transientFailure, self.subchannels.isEmpty, let failure = self.failure {
            // Resolving failed: no subchannel to pick.
            return stream.options.waitForReady ? self.wait(stream) : stream.cancel(failure)
        }
        // No policy until the first resolution.
        guard let policy = self.policy else { return self.wait(stream) }
        switch policy.pick(for: stream.method) {
        case .subchannel(let subchannel):
            if !subchannel.open(stream) {
                self.wait(stream)
            }
        case .trackedSubchannel(let subchannel, let onCallEnded):
            // Set first: the attempt may end while it opens.
            stream.onAttemptEnded = onCallEnded
            if !subchannel.open(stream) {
                stream.onAttemptEnded = nil
                self.wait(stream)
            }
        case .queue:
            self.wait(stream)
        case .fail(let error):
            if stream.options.waitForReady {
                self.wait(stream)
            } else {
                stream.cancel(error)
            }
        }
    }

    /// Holds `stream` until the policy's next state; drops calls that ended (their
    /// deadline passed) when many wait.
    private func wait(_ stream: ClientStream) {
        if self.waiting.count >= 1024, self.waiting.count.nonzeroBitCount == 1 {
            self.waiting.removeAll { $0.isFinished }
        }
        self.waiting.append(stream)
    }

    /// Picks again for every waiting call that has not ended.
    private func placeWaiting() {
        guard !self.waiting.isEmpty else { return }
        let waiting = self.waiting
        self.waiting = []
        for stream in waiting where !stream.isFinished {
            self.place(stream)
        }
    }

    // MARK: Idle

    private func exitIdle() {
        self.isActive = true
        self.setState(.connecting, failure: nil)
        do {
            let resolver = try self.resolverFactory.makeResolver(for: self.target)
            self.resolver = resolver
            let eventLoop = self.eventLoop
            let box = NIOLoopBound(self, eventLoop: eventLoop)
            resolver.start(
                NameResolverListener { result in
                    eventLoop.execute { box.value.resolved(result) }
                }
            )
        } catch {
            let failure =
                error as? RPCError ?? RPCError(.unavailable, "cannot resolve \(self.targetDescription): \(error)")
            self.setState(.transientFailure, failure: failure)
            self.placeWaiting()
        }
        self.armIdleTimer()
    }

    private func armIdleTimer() {
        guard let idleTimeout = self.idleTimeout else { return }
        self.idleTimer?.cancel()
        self.idleTimer = self.eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) {
            self.idleTimerFired()
        }
    }

    private func idleTimerFired() {
        guard let idleTimeout = self.idleTimeout, self.state != .shutdown, self.isActive else { return }
        let busy = !self.waiting.isEmpty || self.subchannels.values.contains { $0.activeCalls > 0 }
        let idleFor = NIODeadline.now() - self.lastUsed
        if busy || idleFor < idleTimeout {
            self.idleTimer = self.eventLoop.assumeIsolated().scheduleTask(
                in: busy ? idleTimeout : idleTimeout - idleFor
            ) {
                self.idleTimerFired()
            }
            return
        }
        self.enterIdle()
    }

    /// No call for the idle timeout: close everything; the next call starts again.
    private func enterIdle() {
        self.isActive = false
        self.resolver?.shutdown()
        self.resolver = nil
        self.policy?.shutdown()
        self.policy = nil
        self.policyName = nil
        self.resolutionRetry?.cancel()
        self.resolutionRetry = nil
        for subchannel in self.subchannels.values { subchannel.drain() }
        self.subchannels = [:]
        self.setState(.idle, failure: nil)
    }

    // MARK: Resolution

    private func resolved(_ result: Result<NameResolution, RPCError>) {
        guard self.isActive, self.state != .shutdown else { return }
        switch result {
        case .success(let resolution):
            self.resolutionBackoff = ConnectionBackoff.Iterator(policy: self.connector.configuration.backoff)
            let config = self.serviceConfig(from: resolution)
            self.publishServiceConfig(config)
            if config?.retryThrottling != self.retryThrottleSettings {
                self.retryThrottleSettings = config?.retryThrottling
                self.retryThrottle = config?.retryThrottling.map(RetryThrottle.init)
            }
            let factory = config?.loadBalancing?.factory ?? self.policyFactory
            let healthCheck = Self.leafPolicyName(factory) == "pick_first" ? nil : config?.healthCheckServiceName
            let healthCheckChanged = healthCheck != self.healthCheckServiceName
            self.healthCheckServiceName = healthCheck
            let policy: any LoadBalancingPolicy
            if let current = self.policy, self.policyName == Self.policyIdentity(factory) {
                policy = current
            } else {
                // The first resolution, or a service config that names another policy.
                self.policy?.shutdown()
                for subchannel in self.subchannels.values { subchannel.drain() }
                self.subchannels = [:]
                policy = factory.makePolicy(helper: self.helper)
                self.policy = policy
                self.policyName = Self.policyIdentity(factory)
                policy.exitIdle()
            }
            if healthCheckChanged {
                // Subchannels that are kept take up the new check (or drop the old one) on
                // the connections they have; new ones read it when they connect.
                for subchannel in self.subchannels.values { subchannel.healthCheckChanged() }
            }
            policy.update(addresses: resolution.addresses)
        case .failure(let error):
            if self.subchannels.isEmpty {
                self.setState(.transientFailure, failure: error)
                self.placeWaiting()
            }
            // Ask again after a backoff delay.
            let delay = self.resolutionBackoff.next()
            self.resolutionRetry?.cancel()
            self.resolutionRetry = self.eventLoop.assumeIsolated().scheduleTask(in: delay.timeAmount) {
                self.resolutionRetry = nil
                self.resolver?.resolveNow()
            }
        }
    }

    /// The name of the policy in use (with its settings, for outlier detection).
    private var policyName: String?

    /// What tells policies apart: a service config that changes it gets a new policy.
    /// Outlier detection's settings and child count, so that changing them takes effect.
    private static func policyIdentity(_ factory: any LoadBalancingPolicyFactory) -> String {
        guard let outlierDetection = factory as? OutlierDetectionPolicyFactory else { return factory.name }
        return "\(factory.name)(\(outlierDetection.configuration), \(Self.policyIdentity(outlierDetection.child)))"
    }

    /// The policy that makes the subchannels: the child of outlier detection.
    private static func leafPolicyName(_ factory: any LoadBalancingPolicyFactory) -> String {
        guard let outlierDetection = factory as? OutlierDetectionPolicyFactory else { return factory.name }
        return Self.leafPolicyName(outlierDetection.child)
    }
    /// The brake on retries the service config in force sets, shared by the calls.
    private(set) var retryThrottle: RetryThrottle?
    /// What all the channel's calls may keep for retries together.
    let retryBuffer: RetryBufferBudget
    /// The service config's health check, for policies other than pick_first (gRFC A17
    /// leaves pick_first out).
    private(set) var healthCheckServiceName: String?
    private var retryThrottleSettings: RetryThrottling?

    /// The service config a resolution brings, else the channel's default. One that does
    /// not parse is ignored (the default applies), as grpc's channels do.
    private func serviceConfig(from resolution: NameResolution) -> ServiceConfig? {
        guard let json = resolution.serviceConfig else { return self.defaultServiceConfig }
        return (try? ServiceConfig(json: json)) ?? self.defaultServiceConfig
    }

    func requestResolution() {
        self.resolver?.resolveNow()
    }

    // MARK: Subchannels (for the helper)

    func makeSubchannel(address: ServerAddress) -> Subchannel {
        let subchannel = Subchannel(address: address, connector: self.connector, owner: self)
        self.subchannels[ObjectIdentifier(subchannel)] = subchannel
        return subchannel
    }

    func removeSubchannel(_ subchannel: Subchannel) {
        guard self.subchannels.removeValue(forKey: ObjectIdentifier(subchannel)) != nil else { return }
        subchannel.drain()
    }

    func subchannel(_ subchannel: Subchannel, didChangeTo state: ConnectivityState) {
        guard self.subchannels[ObjectIdentifier(subchannel)] != nil else { return }
        self.policy?.subchannel(subchannel, didChangeTo: state)
    }

    func subchannelWantsResolution(_ subchannel: Subchannel) {
        self.requestResolution()
    }

    func policyUpdatedState(_ state: ConnectivityState, failure: RPCError?) {
        guard self.state != .shutdown else { return }
        self.setState(state, failure: failure)
        self.placeWaiting()
    }

    // MARK: State

    private func setState(_ state: ConnectivityState, failure: RPCError?) {
        self.failure = failure
        guard state != self.state else { return }
        self.connector.configuration.logger.debug(
            "channel is \(state)",
            metadata: [
                "grpc.target": "\(self.targetDescription)", "previous": "\(self.state)",
                "error": failure.map { "\($0.message)" } ?? "",
            ]
        )
        self.state = state
        for watcher in self.stateWatchers.values { watcher(state) }
    }

    /// Calls `watcher` with the state now and at every change, until `removeWatcher`.
    func addWatcher(_ watcher: @escaping (ConnectivityState) -> Void) -> UInt64 {
        let id = self.nextWatcherID
        self.nextWatcherID += 1
        self.stateWatchers[id] = watcher
        watcher(self.state)
        return id
    }

    func removeWatcher(_ id: UInt64) {
        self.stateWatchers[id] = nil
    }

    /// How many subchannels are READY.
    var readySubchannelCount: Int { self.subchannels.values.filter { $0.state == .ready }.count }

    /// How many subchannels outlier detection ejects now.
    var ejectedSubchannelCount: Int { self.subchannels.values.filter(\.isEjected).count }

    /// Connects now if idle, without waiting for a call.
    func connect() {
        if self.state == .idle, !self.isActive {
            self.exitIdle()
        }
    }

    func shutdown() {
        guard self.state != .shutdown else { return }
        self.isActive = false
        self.resolver?.shutdown()
        self.resolver = nil
        self.policy?.shutdown()
        self.policy = nil
        self.idleTimer?.cancel()
        self.resolutionRetry?.cancel()
        for subchannel in self.subchannels.values { subchannel.shutdown() }
        self.subchannels = [:]
        self.setState(.shutdown, failure: nil)
        let error = RPCError(.unavailable, "the channel to \(self.targetDescription) was closed")
        let waiting = self.waiting
        self.waiting = []
        for stream in waiting { stream.cancel(error) }
        self.stateWatchers = [:]
    }
}
