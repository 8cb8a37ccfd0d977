/// `round_robin`: one subchannel per address, all kept connected; calls go to the READY
/// ones in turn. `least_request` (gRFC A48) keeps the same subchannels and sends each call
/// to the one with fewer calls open among `choiceCount` picked at random.
///
/// The channel is READY while any subchannel is; CONNECTING while none is READY and some
/// are still trying; TRANSIENT_FAILURE once all have failed, and then it stays so
/// ("sticky") until one connects. New addresses join as they connect; removed ones are
/// drained.
final class RoundRobinPolicy: LoadBalancingPolicy {
    /// How a call is given one of the READY subchannels.
    enum Choice {
        case roundRobin
        /// Power of `choiceCount` random choices over the calls open on each.
        case leastRequest(choiceCount: Int)
    }

    private let helper: LoadBalancerHelper
    private let choice: Choice
    private var subchannels: [Subchannel] = []
    /// The READY subchannels, in address order: what calls are spread over.
    private var ready: [Subchannel] = []
    private var next = 0
    private var state = ConnectivityState.idle
    private var failure: RPCError?
    private var isActive = false
    private var addresses: [ServerAddress] = []
    /// Whether the resolver has reported yet (before that, no address is no news).
    private var hasResolved = false

    init(helper: LoadBalancerHelper, choice: Choice) {
        self.helper = helper
        self.choice = choice
    }

    func update(addresses: [ServerAddress]) {
        var unique: [ServerAddress] = []
        for address in addresses where !unique.contains(address) { unique.append(address) }
        self.addresses = unique
        self.hasResolved = true
        guard self.isActive else { return }
        self.reconcile()
    }

    func exitIdle() {
        guard !self.isActive else { return }
        self.isActive = true
        if self.hasResolved {
            self.reconcile()
        }
    }

    /// One subchannel per address: new ones made and connected, removed ones drained.
    private func reconcile() {
        var kept: [Subchannel] = []
        for address in self.addresses {
            if let existing = self.subchannels.first(where: { $0.address == address }) {
                kept.append(existing)
            } else {
                let subchannel = self.helper.makeSubchannel(address: address)
                kept.append(subchannel)
                subchannel.connect()
            }
        }
        for subchannel in self.subchannels where !kept.contains(where: { $0 === subchannel }) {
            self.helper.removeSubchannel(subchannel)
        }
        self.subchannels = kept
        if kept.isEmpty {
            self.ready = []
            self.setState(
                .transientFailure, failure: RPCError(.unavailable, "\(self.helper.target) resolved to no address"))
        } else {
            self.refresh()
        }
    }

    func subchannel(_ subchannel: Subchannel, didChangeTo state: ConnectivityState) {
        guard self.subchannels.contains(where: { $0 === subchannel }) else { return }
        if state == .idle {
            // A connection closed, or a backoff ended: connect again.
            subchannel.connect()
            self.helper.requestResolution()
        }
        self.refresh()
    }

    /// Recomputes the READY list and the channel's state from the subchannels'.
    private func refresh() {
        self.ready = self.subchannels.filter { $0.state == .ready }
        if !self.ready.isEmpty {
            self.setState(.ready)
        } else if self.subchannels.allSatisfy({ $0.state == .transientFailure }) {
            self.setState(.transientFailure, failure: self.allFailed())
        } else if self.state != .transientFailure {
            self.setState(.connecting)
        }
    }

    private func allFailed() -> RPCError {
        let reasons = self.subchannels.compactMap { subchannel in
            subchannel.failure.map { "\(subchannel.address): \($0.message)" }
        }
        return RPCError(
            .unavailable,
            "failed to connect to every address of \(self.helper.target) (\(reasons.joined(separator: "; ")))",
            cause: self.subchannels.last?.failure?.cause
        )
    }

    func pick(for method: MethodDescriptor) -> PickResult {
        if !self.ready.isEmpty {
            switch self.choice {
            case .roundRobin:
                let subchannel = self.ready[self.next % self.ready.count]
                self.next = (self.next &+ 1) & Int.max
                return .subchannel(subchannel)
            case .leastRequest(let choiceCount):
                var best = self.ready.randomElement()!
                for _ in 1..<min(choiceCount, self.ready.count) {
                    let candidate = self.ready.randomElement()!
                    if candidate.activeCalls < best.activeCalls { best = candidate }
                }
                return .subchannel(best)
            }
        }
        switch self.state {
        case .transientFailure:
            return .fail(self.failure ?? RPCError(.unavailable, "failed to connect to \(self.helper.target)"))
        case .idle:
            self.exitIdle()
            return .queue
        case .connecting, .ready, .shutdown:
            return .queue
        }
    }

    private func setState(_ state: ConnectivityState, failure: RPCError? = nil) {
        guard state != self.state || failure != self.failure else { return }
        self.state = state
        self.failure = failure
        self.helper.updateState(state, failure: failure)
    }

    func shutdown() {
        self.subchannels = []
        self.ready = []
        self.isActive = false
        self.state = .idle
    }
}

/// Makes `round_robin` policies.
struct RoundRobinPolicyFactory: LoadBalancingPolicyFactory {
    let name = "round_robin"

    func makePolicy(helper: LoadBalancerHelper) -> any LoadBalancingPolicy {
        RoundRobinPolicy(helper: helper, choice: .roundRobin)
    }
}

/// Makes `least_request` policies.
struct LeastRequestPolicyFactory: LoadBalancingPolicyFactory {
    let name = "least_request"
    /// How many READY subchannels each pick compares (2 to 10; gRFC A48's default is 2).
    var choiceCount = 2

    func makePolicy(helper: LoadBalancerHelper) -> any LoadBalancingPolicy {
        RoundRobinPolicy(helper: helper, choice: .leastRequest(choiceCount: self.choiceCount))
    }
}
