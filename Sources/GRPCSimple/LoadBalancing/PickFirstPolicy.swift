/// `pick_first` (gRFC A62): connects to the addresses one after the other, in order
/// (shuffled first when `shuffleAddressList`), until one connects; then every call goes
/// there and the other subchannels are dropped.
///
/// When every address has failed, the channel is in TRANSIENT_FAILURE and stays there
/// ("sticky") while the subchannels keep retrying with their backoff, until one connects.
/// When the connection it uses closes, the channel goes IDLE, and the next call starts over.
final class PickFirstPolicy: LoadBalancingPolicy {
    private let helper: LoadBalancerHelper
    private let shuffleAddressList: Bool
    /// The subchannels of the current pass, in the order they are tried.
    private var subchannels: [Subchannel] = []
    /// The one calls go to, once it is READY.
    private var selected: Subchannel?
    /// Which subchannel the first pass is trying; nil after the pass.
    private var attempt: Int?
    private var addresses: [ServerAddress] = []
    private var state = ConnectivityState.idle
    /// Whether the channel wants a connection (a call came since it was last idle).
    private var isActive = false

    init(helper: LoadBalancerHelper, shuffleAddressList: Bool) {
        self.helper = helper
        self.shuffleAddressList = shuffleAddressList
    }

    func update(addresses: [ServerAddress]) {
        var unique: [ServerAddress] = []
        for address in addresses where !unique.contains(address) { unique.append(address) }
        if self.shuffleAddressList { unique.shuffle() }
        self.addresses = unique
        if let selected = self.selected, unique.contains(selected.address) {
            // Still a valid choice: keep it and drop the rest.
            self.keepOnly(selected)
            return
        }
        self.selected = nil
        self.dropAll()
        if unique.isEmpty {
            self.setState(
                .transientFailure, failure: RPCError(.unavailable, "\(self.helper.target) resolved to no address"))
            return
        }
        if self.isActive {
            self.startPass()
        }
    }

    func exitIdle() {
        guard !self.isActive else { return }
        self.isActive = true
        if self.selected == nil, !self.addresses.isEmpty {
            self.startPass()
        }
    }

    private func startPass() {
        self.dropAll()
        self.subchannels = self.addresses.map { self.helper.makeSubchannel(address: $0) }
        guard !self.subchannels.isEmpty else { return }
        self.attempt = 0
        if self.state != .transientFailure {
            self.setState(.connecting)
        }
        self.subchannels[0].connect()
    }

    func subchannel(_ subchannel: Subchannel, didChangeTo state: ConnectivityState) {
        guard let index = self.subchannels.firstIndex(where: { $0 === subchannel }) else { return }
        switch state {
        case .ready:
            self.selected = subchannel
            self.attempt = nil
            self.keepOnly(subchannel)
            self.setState(.ready)
        case .idle where subchannel === self.selected:
            // The connection closed: start over with the next call.
            self.selected = nil
            self.isActive = false
            self.dropAll()
            self.setState(.idle)
            self.helper.requestResolution()
        case .idle:
            // Its backoff ended. After the first pass, keep every address trying.
            if self.attempt == nil, self.selected == nil {
                subchannel.connect()
            }
        case .transientFailure:
            guard let attempt = self.attempt, attempt == index else { return }
            if attempt + 1 < self.subchannels.count {
                self.attempt = attempt + 1
                self.subchannels[attempt + 1].connect()
            } else {
                self.attempt = nil
                self.setState(.transientFailure, failure: self.allFailed())
                self.helper.requestResolution()
                // Subchannels already idle again retry now; the others when their backoff ends.
                for subchannel in self.subchannels where subchannel.state == .idle { subchannel.connect() }
            }
        case .connecting, .shutdown:
            break
        }
    }

    /// The error calls fail with once every address has failed.
    private func allFailed() -> RPCError {
        let target = self.helper.target
        let detail: String
        if self.subchannels.count == 1, let failure = self.subchannels[0].failure {
            detail = failure.message
        } else {
            let reasons = self.subchannels.compactMap { subchannel in
                subchannel.failure.map { "\(subchannel.address): \($0.message)" }
            }
            detail = "every address failed (\(reasons.joined(separator: "; ")))"
        }
        return RPCError(
            .unavailable,
            "failed to connect to \(target): \(detail); check that the server is running and listening on that address",
            cause: self.subchannels.last?.failure?.cause
        )
    }

    func pick(for method: MethodDescriptor) -> PickResult {
        if let selected = self.selected, selected.state == .ready {
            return .subchannel(selected)
        }
        switch self.state {
        case .transientFailure:
            return .fail(self.failure ?? RPCError(.unavailable, "failed to connect to \(self.helper.target)"))
        case .idle:
            self.exitIdle()
            return self.state == .transientFailure
                ? .fail(self.failure ?? RPCError(.unavailable, "no address")) : .queue
        case .connecting, .ready, .shutdown:
            return .queue
        }
    }

    private var failure: RPCError?

    private func setState(_ state: ConnectivityState, failure: RPCError? = nil) {
        self.state = state
        self.failure = failure
        self.helper.updateState(state, failure: failure)
    }

    private func keepOnly(_ keep: Subchannel) {
        for subchannel in self.subchannels where subchannel !== keep {
            self.helper.removeSubchannel(subchannel)
        }
        self.subchannels = [keep]
    }

    private func dropAll() {
        for subchannel in self.subchannels { self.helper.removeSubchannel(subchannel) }
        self.subchannels = []
        self.attempt = nil
    }

    func shutdown() {
        self.subchannels = []
        self.selected = nil
        self.attempt = nil
        self.isActive = false
        self.state = .idle
    }
}

/// Makes `pick_first` policies.
struct PickFirstPolicyFactory: LoadBalancingPolicyFactory {
    let name = "pick_first"
    var shuffleAddressList = false

    func makePolicy(helper: LoadBalancerHelper) -> any LoadBalancingPolicy {
        PickFirstPolicy(helper: helper, shuffleAddressList: self.shuffleAddressList)
    }
}
