import NIOCore

/// `outlier_detection` (gRFC A50): wraps a child policy, counts how the calls it picks end
/// per address, and every interval applies `OutlierDetector`'s decisions. An ejected
/// address's subchannels look TRANSIENT_FAILURE to the child (which then picks others)
/// while their connections stay open; when let back, the child hears their real state.
///
/// The child makes its subchannels through a helper whose parent is this policy, so that
/// each is known by its address. Calls are counted through the pick
/// (`PickResult.trackedSubchannel`), only while an algorithm is configured.
final class OutlierDetectionPolicy: LoadBalancingPolicy, LoadBalancerHelperParent {
    /// One address: its counts for the current interval and its subchannels.
    private final class Endpoint {
        var counts = OutlierDetector<ServerAddress>.CallCounts()
        var subchannels: [Subchannel] = []

        /// Made once per address, so that picks do not allocate. Weak: a call may end
        /// after the address is gone.
        private(set) lazy var onCallEnded: (StatusCode) -> Void = { [weak self] code in
            guard let self else { return }
            if code == .ok {
                self.counts.successes += 1
            } else {
                self.counts.failures += 1
            }
        }
    }

    private let helper: LoadBalancerHelper
    private var detector: OutlierDetector<ServerAddress>
    private var child: (any LoadBalancingPolicy)?
    private var endpoints: [ServerAddress: Endpoint] = [:]
    /// The endpoint of each subchannel the child made for a known address, by subchannel.
    private var endpointOfSubchannel: [ObjectIdentifier: Endpoint] = [:]
    private var timer: Scheduled<Void>?
    private var random = SystemRandomNumberGenerator()

    init(helper: LoadBalancerHelper, configuration: OutlierDetection, child: any LoadBalancingPolicyFactory) {
        self.helper = helper
        self.detector = OutlierDetector(configuration: configuration)
        self.child = child.makePolicy(helper: LoadBalancerHelper(parent: self))
        // The child's helper refers to this policy unowned; the child keeps it.
        if configuration.isEnabled {
            self.scheduleSweep()
        }
    }

    // MARK: LoadBalancingPolicy

    func update(addresses: [ServerAddress]) {
        self.detector.setAddresses(addresses)
        var endpoints: [ServerAddress: Endpoint] = [:]
        for address in self.detector.addresses {
            endpoints[address] = self.endpoints[address] ?? Endpoint()
        }
        for (address, endpoint) in self.endpoints where endpoints[address] == nil {
            // Gone from the list: its subchannels are no longer watched (nor ejected).
            for subchannel in endpoint.subchannels {
                self.endpointOfSubchannel[ObjectIdentifier(subchannel)] = nil
                self.setEjected(subchannel, false)
            }
        }
        self.endpoints = endpoints
        self.child?.update(addresses: addresses)
    }

    func subchannel(_ subchannel: Subchannel, didChangeTo state: ConnectivityState) {
        // The child keeps seeing TRANSIENT_FAILURE while the subchannel is ejected; it
        // hears the state it is in when let back.
        guard !subchannel.isEjected else { return }
        self.child?.subchannel(subchannel, didChangeTo: state)
    }

    func exitIdle() {
        self.child?.exitIdle()
    }

    func pick(for method: MethodDescriptor) -> PickResult {
        guard let child = self.child else { return .queue }
        let result = child.pick(for: method)
        guard self.detector.configuration.isEnabled else { return result }
        switch result {
        case .subchannel(let subchannel):
            guard let endpoint = self.endpointOfSubchannel[ObjectIdentifier(subchannel)] else { return result }
            return .trackedSubchannel(subchannel, onCallEnded: endpoint.onCallEnded)
        case .trackedSubchannel(let subchannel, let childOnCallEnded):
            guard let endpoint = self.endpointOfSubchannel[ObjectIdentifier(subchannel)] else { return result }
            let onCallEnded = endpoint.onCallEnded
            return .trackedSubchannel(subchannel) { code in
                onCallEnded(code)
                childOnCallEnded(code)
            }
        case .queue, .fail:
            return result
        }
    }

    func shutdown() {
        self.timer?.cancel()
        self.timer = nil
        self.child?.shutdown()
        self.child = nil
        self.endpoints = [:]
        self.endpointOfSubchannel = [:]
    }

    // MARK: The interval

    private func scheduleSweep() {
        self.timer = self.helper.eventLoop.assumeIsolated().scheduleTask(
            in: self.detector.configuration.interval.timeAmount
        ) { [weak self] in
            self?.sweep()
        }
    }

    private func sweep() {
        guard self.child != nil else { return }
        var counts: [ServerAddress: OutlierDetector<ServerAddress>.CallCounts] = [:]
        for (address, endpoint) in self.endpoints {
            counts[address] = endpoint.counts
            endpoint.counts = .init()
        }
        let decisions = self.detector.sweep(counts: counts, now: .now(), using: &self.random)
        for address in decisions.ejected {
            for subchannel in self.endpoints[address]?.subchannels ?? [] {
                self.setEjected(subchannel, true)
            }
        }
        for address in decisions.returned {
            for subchannel in self.endpoints[address]?.subchannels ?? [] {
                self.setEjected(subchannel, false)
            }
        }
        self.scheduleSweep()
    }

    /// Ejects `subchannel` or lets it back, and tells the child the state it now shows.
    private func setEjected(_ subchannel: Subchannel, _ ejected: Bool) {
        guard subchannel.isEjected != ejected else { return }
        subchannel.isEjected = ejected
        self.child?.subchannel(subchannel, didChangeTo: subchannel.state)
    }

    // MARK: LoadBalancerHelperParent (for the child)

    var targetDescription: String { self.helper.target }
    var eventLoop: any EventLoop { self.helper.eventLoop }

    func makeSubchannel(address: ServerAddress) -> Subchannel {
        let subchannel = self.helper.makeSubchannel(address: address)
        if let endpoint = self.endpoints[address] {
            endpoint.subchannels.append(subchannel)
            self.endpointOfSubchannel[ObjectIdentifier(subchannel)] = endpoint
            // New and idle: the child reads its state, TRANSIENT_FAILURE while ejected.
            subchannel.isEjected = self.detector.isEjected(address)
        }
        return subchannel
    }

    func removeSubchannel(_ subchannel: Subchannel) {
        if let endpoint = self.endpointOfSubchannel.removeValue(forKey: ObjectIdentifier(subchannel)) {
            endpoint.subchannels.removeAll { $0 === subchannel }
        }
        self.helper.removeSubchannel(subchannel)
    }

    func policyUpdatedState(_ state: ConnectivityState, failure: RPCError?) {
        self.helper.updateState(state, failure: failure)
    }

    func requestResolution() {
        self.helper.requestResolution()
    }
}

/// Makes `outlier_detection` policies around a child policy.
struct OutlierDetectionPolicyFactory: LoadBalancingPolicyFactory {
    let name = "outlier_detection"
    let configuration: OutlierDetection
    let child: any LoadBalancingPolicyFactory

    func makePolicy(helper: LoadBalancerHelper) -> any LoadBalancingPolicy {
        OutlierDetectionPolicy(helper: helper, configuration: self.configuration, child: self.child)
    }
}
