import NIOCore

/// The decisions of outlier detection (gRFC A50), apart from calls and subchannels: given
/// each address's call counts for an interval and the time, which addresses to eject and
/// which to let back. It keeps, per address, when it was ejected and its ejection
/// multiplier; the caller counts the calls, keeps the timer and applies the decisions.
struct OutlierDetector<Address: Hashable> {
    /// How the calls to one address ended in one interval.
    struct CallCounts: Hashable {
        var successes = 0
        var failures = 0

        var total: Int { self.successes + self.failures }
    }

    /// What a sweep decided, each list in address order.
    struct Decisions: Hashable {
        /// Addresses ejected now.
        var ejected: [Address] = []
        /// Addresses whose ejection ended.
        var returned: [Address] = []
    }

    /// An address's ejection history.
    private struct Ejection {
        /// When its current ejection began; nil while it is not ejected.
        var since: NIODeadline?
        /// How many ejections its next ejection's length counts: one more each ejection,
        /// one fewer each interval it is not ejected.
        var multiplier = 0
    }

    let configuration: OutlierDetection
    /// The addresses, in the resolver's order: the order algorithms consider them in.
    private(set) var addresses: [Address] = []
    private var ejections: [Address: Ejection] = [:]

    init(configuration: OutlierDetection) {
        self.configuration = configuration
    }

    /// The resolver's addresses: new ones start with a clean history; those gone are
    /// forgotten (their ejection with them).
    mutating func setAddresses(_ addresses: [Address]) {
        var unique: [Address] = []
        var kept: [Address: Ejection] = [:]
        for address in addresses where kept[address] == nil {
            unique.append(address)
            kept[address] = self.ejections[address] ?? Ejection()
        }
        self.addresses = unique
        self.ejections = kept
    }

    func isEjected(_ address: Address) -> Bool {
        self.ejections[address]?.since != nil
    }

    /// The multiplier of `address`'s next ejection time (for tests).
    func multiplier(of address: Address) -> Int {
        self.ejections[address]?.multiplier ?? 0
    }

    var ejectedCount: Int { self.ejections.values.count(where: { $0.since != nil }) }

    /// One interval's end: runs the configured algorithms over `counts` (addresses missing
    /// from it had no calls), ejecting at `now`, then decays the multipliers of the
    /// addresses not ejected and lets back those whose ejection time has passed. `random`
    /// draws the enforcement chances.
    mutating func sweep(
        counts: [Address: CallCounts],
        now: NIODeadline,
        using random: inout some RandomNumberGenerator
    ) -> Decisions {
        var decisions = Decisions()
        if let successRate = self.configuration.successRateEjection {
            self.runSuccessRate(successRate, counts: counts, now: now, random: &random, decisions: &decisions)
        }
        if let failurePercentage = self.configuration.failurePercentageEjection {
            self.runFailurePercentage(
                failurePercentage, counts: counts, now: now, random: &random, decisions: &decisions)
        }
        for address in self.addresses {
            guard var ejection = self.ejections[address] else { continue }
            if let since = ejection.since {
                let length = min(
                    self.configuration.baseEjectionTime * ejection.multiplier, self.configuration.ejectionTimeLimit)
                if now > since + length.timeAmount {
                    ejection.since = nil
                    decisions.returned.append(address)
                }
            } else if ejection.multiplier > 0 {
                ejection.multiplier -= 1
            }
            self.ejections[address] = ejection
        }
        return decisions
    }

    private mutating func runSuccessRate(
        _ settings: OutlierDetection.SuccessRateEjection,
        counts: [Address: CallCounts],
        now: NIODeadline,
        random: inout some RandomNumberGenerator,
        decisions: inout Decisions
    ) {
        let judged = self.addresses.filter { (counts[$0]?.total ?? 0) >= max(settings.requestVolume, 1) }
        guard !judged.isEmpty, judged.count >= settings.minimumHosts else { return }
        let rates = judged.map { Self.successRate(counts[$0]!) }
        let mean = rates.reduce(0, +) / Double(rates.count)
        let variance = rates.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rates.count)
        let required = mean - variance.squareRoot() * Double(settings.stdevFactor) / 1000
        for (address, rate) in zip(judged, rates) {
            guard self.mayEjectMore else { return }
            guard rate < required, !self.isEjected(address) else { continue }
            if Int.random(in: 0..<100, using: &random) < settings.enforcementPercentage {
                self.eject(address, now: now, decisions: &decisions)
            }
        }
    }

    private mutating func runFailurePercentage(
        _ settings: OutlierDetection.FailurePercentageEjection,
        counts: [Address: CallCounts],
        now: NIODeadline,
        random: inout some RandomNumberGenerator,
        decisions: inout Decisions
    ) {
        guard self.addresses.count >= settings.minimumHosts else { return }
        for address in self.addresses {
            guard self.mayEjectMore else { return }
            guard let count = counts[address], count.total >= max(settings.requestVolume, 1) else { continue }
            let failurePercentage = Double(count.failures) * 100 / Double(count.total)
            guard failurePercentage > Double(settings.threshold), !self.isEjected(address) else { continue }
            if Int.random(in: 0..<100, using: &random) < settings.enforcementPercentage {
                self.eject(address, now: now, decisions: &decisions)
            }
        }
    }

    /// Whether the addresses ejected now are fewer than `maxEjectionPercent` of all (so
    /// one more may go, even if that passes the limit: at least one can be ejected).
    private var mayEjectMore: Bool {
        guard !self.addresses.isEmpty else { return false }
        return self.ejectedCount * 100 < self.configuration.maxEjectionPercent * self.addresses.count
    }

    private mutating func eject(_ address: Address, now: NIODeadline, decisions: inout Decisions) {
        self.ejections[address, default: Ejection()].since = now
        self.ejections[address, default: Ejection()].multiplier += 1
        decisions.ejected.append(address)
    }

    private static func successRate(_ counts: CallCounts) -> Double {
        Double(counts.successes) / Double(counts.total)
    }
}
