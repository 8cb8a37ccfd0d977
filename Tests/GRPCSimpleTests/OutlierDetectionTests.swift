import NIOCore
import Testing

@testable import GRPCSimple

/// Outlier detection (gRFC A50): the decisions alone (`OutlierDetector`, counts and a clock
/// in, ejections out).
@Suite struct OutlierDetectionTests {
    // MARK: The decisions

    /// Draws the same number every time: `UInt64.max` draws 99 from `0..<100`, `1 << 58`
    /// draws 1; so enforcement percentages can be tested without chance.
    struct FixedRandom: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { self.value }

        static let high = FixedRandom(value: .max)
        static let low = FixedRandom(value: 1 << 58)
    }

    typealias Detector = OutlierDetector<String>
    typealias Counts = Detector.CallCounts

    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    static let addresses = ["a", "b", "c", "d", "e"]

    static func detector(_ configuration: OutlierDetection, addresses: [String] = Self.addresses) -> Detector {
        var detector = Detector(configuration: configuration)
        detector.setAddresses(addresses)
        return detector
    }

    /// `calls` calls to each address, all succeeding but for the given failures.
    static func counts(
        _ failures: [String: Int], calls: Int = 100, addresses: [String] = Self.addresses
    ) -> [String: Counts] {
        var counts: [String: Counts] = [:]
        for address in addresses {
            let failed = failures[address] ?? 0
            counts[address] = Counts(successes: calls - failed, failures: failed)
        }
        return counts
    }

    static func successRate(
        stdevFactor: Int = 1900, enforcement: Int = 100, minimumHosts: Int = 5, requestVolume: Int = 100,
        maxEjectionPercent: Int = 100, base: Duration = .seconds(30), max: Duration = .seconds(300)
    ) throws -> OutlierDetection {
        try OutlierDetection(
            baseEjectionTime: base,
            maxEjectionTime: max,
            maxEjectionPercent: maxEjectionPercent,
            successRateEjection: .init(
                stdevFactor: stdevFactor, enforcementPercentage: enforcement, minimumHosts: minimumHosts,
                requestVolume: requestVolume)
        )
    }

    static func failurePercentage(
        threshold: Int = 85, enforcement: Int = 100, minimumHosts: Int = 5, requestVolume: Int = 50,
        maxEjectionPercent: Int = 100, base: Duration = .seconds(30), max: Duration = .seconds(300)
    ) throws -> OutlierDetection {
        try OutlierDetection(
            baseEjectionTime: base,
            maxEjectionTime: max,
            maxEjectionPercent: maxEjectionPercent,
            failurePercentageEjection: .init(
                threshold: threshold, enforcementPercentage: enforcement, minimumHosts: minimumHosts,
                requestVolume: requestVolume)
        )
    }

    @Test func successRateEjectsTheAddressFarBelowTheMean() throws {
        var detector = Self.detector(try Self.successRate())
        var random = FixedRandom.high
        // Rates 1, 1, 0, 1, 1: mean 0.8, stdev 0.4, threshold 0.8 - 0.4 * 1.9 = 0.04.
        let decisions = detector.sweep(counts: Self.counts(["c": 100]), now: Self.start, using: &random)
        #expect(decisions == .init(ejected: ["c"], returned: []))
        #expect(detector.isEjected("c"))
        #expect(detector.ejectedCount == 1)
    }

    @Test func successRateHonoursTheStdevFactor() throws {
        // Rates 1, 1, 0.5, 1, 1: mean 0.9, stdev 0.2; 1.9 stdevs below is 0.52, 2.1 is 0.48.
        var random = FixedRandom.high
        var strict = Self.detector(try Self.successRate(stdevFactor: 1900))
        #expect(strict.sweep(counts: Self.counts(["c": 50]), now: Self.start, using: &random).ejected == ["c"])
        var lenient = Self.detector(try Self.successRate(stdevFactor: 2100))
        #expect(lenient.sweep(counts: Self.counts(["c": 50]), now: Self.start, using: &random).ejected == [])
    }

    @Test func successRateEjectsNothingWhenAllAreAlike() throws {
        var detector = Self.detector(try Self.successRate(stdevFactor: 0))
        var random = FixedRandom.high
        let alike = Self.counts(["a": 10, "b": 10, "c": 10, "d": 10, "e": 10])
        #expect(detector.sweep(counts: alike, now: Self.start, using: &random) == .init())
    }

    @Test func successRateNeedsMinimumHostsWithTheRequestVolume() throws {
        var random = FixedRandom.high
        // "e" has 99 calls, under the volume: only four addresses are judged.
        var counts = Self.counts(["c": 100])
        counts["e"] = Counts(successes: 99, failures: 0)
        var fiveNeeded = Self.detector(try Self.successRate(minimumHosts: 5))
        #expect(fiveNeeded.sweep(counts: counts, now: Self.start, using: &random) == .init())
        // Rates 1, 1, 0, 1: mean 0.75, stdev 0.433; one stdev below is 0.317.
        var fourNeeded = Self.detector(try Self.successRate(stdevFactor: 1000, minimumHosts: 4))
        #expect(fourNeeded.sweep(counts: counts, now: Self.start, using: &random).ejected == ["c"])
    }

    @Test func successRateSkipsAnAddressUnderTheRequestVolume() throws {
        var random = FixedRandom.high
        // "c" fails all its 99 calls but is not judged; the others are alike.
        var counts = Self.counts([:])
        counts["c"] = Counts(successes: 0, failures: 99)
        var detector = Self.detector(try Self.successRate(minimumHosts: 4))
        #expect(detector.sweep(counts: counts, now: Self.start, using: &random) == .init())
        // Missing counts are no calls.
        counts["c"] = nil
        #expect(detector.sweep(counts: counts, now: Self.start, using: &random) == .init())
    }

    @Test func failurePercentageEjectsAboveTheThreshold() throws {
        var random = FixedRandom.high
        var detector = Self.detector(try Self.failurePercentage(threshold: 85))
        // 85% is not above 85%; 86% is.
        let decisions = detector.sweep(counts: Self.counts(["b": 85, "d": 86]), now: Self.start, using: &random)
        #expect(decisions.ejected == ["d"])
        // Independent of the others: every address above the threshold goes.
        var all = Self.detector(try Self.failurePercentage(threshold: 50))
        let failing = Self.counts(["a": 60, "b": 70, "c": 40, "d": 100, "e": 51])
        #expect(all.sweep(counts: failing, now: Self.start, using: &random).ejected == ["a", "b", "d", "e"])
    }

    @Test func failurePercentageNeedsMinimumHostsAndRequestVolume() throws {
        var random = FixedRandom.high
        // Five addresses; six needed.
        var tooFew = Self.detector(try Self.failurePercentage(minimumHosts: 6))
        #expect(tooFew.sweep(counts: Self.counts(["a": 100]), now: Self.start, using: &random) == .init())
        // minimumHosts counts addresses, not addresses with calls.
        var quiet = Self.detector(try Self.failurePercentage(minimumHosts: 5, requestVolume: 50))
        let onlyA: [String: Counts] = ["a": Counts(successes: 0, failures: 50)]
        #expect(quiet.sweep(counts: onlyA, now: Self.start, using: &random).ejected == ["a"])
        // 49 calls are under the volume.
        var underVolume = Self.detector(try Self.failurePercentage(requestVolume: 50))
        let fewCalls: [String: Counts] = ["a": Counts(successes: 0, failures: 49)]
        #expect(underVolume.sweep(counts: fewCalls, now: Self.start, using: &random) == .init())
    }

    @Test func enforcementPercentageIsTheChanceOfEjecting() throws {
        let counts = Self.counts(["c": 100])
        for (enforcement, random, ejected) in [
            (100, FixedRandom.high, true), (0, FixedRandom.low, false),
            (50, FixedRandom.low, true), (50, FixedRandom.high, false),
        ] {
            var random = random
            var bySuccessRate = Self.detector(try Self.successRate(enforcement: enforcement))
            #expect(
                !bySuccessRate.sweep(counts: counts, now: Self.start, using: &random).ejected.isEmpty == ejected,
                "success rate, enforcement \(enforcement)")
            var byFailures = Self.detector(try Self.failurePercentage(enforcement: enforcement))
            #expect(
                !byFailures.sweep(counts: counts, now: Self.start, using: &random).ejected.isEmpty == ejected,
                "failure percentage, enforcement \(enforcement)")
        }
        // With 0, never, whatever is drawn.
        var random = SystemRandomNumberGenerator()
        var never = Self.detector(try Self.failurePercentage(enforcement: 0))
        for _ in 0..<200 {
            #expect(never.sweep(counts: counts, now: Self.start, using: &random) == .init())
        }
    }

    @Test(arguments: [(0, 0), (10, 1), (20, 1), (21, 2), (40, 2), (60, 3), (100, 5)])
    func maxEjectionPercentBoundsTheEjections(percent: Int, expected: Int) throws {
        var random = FixedRandom.high
        var detector = Self.detector(try Self.failurePercentage(maxEjectionPercent: percent))
        let allFailing = Self.counts(["a": 100, "b": 100, "c": 100, "d": 100, "e": 100])
        let decisions = detector.sweep(counts: allFailing, now: Self.start, using: &random)
        // In address order; at least one unless 0 (10% of five addresses is half of one).
        #expect(decisions.ejected == Array(Self.addresses.prefix(expected)))
        // The next interval ejects no more while those are out.
        let next = detector.sweep(counts: allFailing, now: Self.start + .seconds(10), using: &random)
        #expect(next.ejected == [])
        #expect(detector.ejectedCount == expected)
    }

    @Test func bothAlgorithmsDoNotEjectTwice() throws {
        var random = FixedRandom.high
        let configuration = try OutlierDetection(
            maxEjectionPercent: 100, successRateEjection: .init(), failurePercentageEjection: .init())
        var detector = Self.detector(configuration)
        #expect(detector.sweep(counts: Self.counts(["c": 100]), now: Self.start, using: &random).ejected == ["c"])
        #expect(detector.multiplier(of: "c") == 1)
    }

    @Test func noAlgorithmEjectsNothing() throws {
        var random = FixedRandom.high
        var detector = Self.detector(try OutlierDetection(maxEjectionPercent: 100))
        let allFailing = Self.counts(["a": 100, "b": 100, "c": 100, "d": 100, "e": 100])
        #expect(detector.sweep(counts: allFailing, now: Self.start, using: &random) == .init())
        #expect(!(try OutlierDetection()).isEnabled)
    }

    @Test func ejectionTimeGrowsWithEachEjectionAndReturnsAfterIt() throws {
        var random = FixedRandom.high
        var detector = Self.detector(try Self.failurePercentage(base: .seconds(10)))
        let failing = Self.counts(["c": 100])
        let quiet: [String: Counts] = [:]
        var now = Self.start
        #expect(detector.sweep(counts: failing, now: now, using: &random).ejected == ["c"])
        // First ejection: 10 s; returned only after it has passed.
        #expect(detector.sweep(counts: quiet, now: now + .seconds(10), using: &random) == .init())
        #expect(detector.isEjected("c"))
        now = now + .seconds(10) + .milliseconds(1)
        #expect(detector.sweep(counts: quiet, now: now, using: &random) == .init(returned: ["c"]))
        #expect(!detector.isEjected("c"))
        #expect(detector.multiplier(of: "c") == 1)
        // Failing again at once: ejected for 20 s.
        now = now + .seconds(1)
        #expect(detector.sweep(counts: failing, now: now, using: &random).ejected == ["c"])
        #expect(detector.multiplier(of: "c") == 2)
        #expect(detector.sweep(counts: quiet, now: now + .seconds(15), using: &random) == .init())
        #expect(
            detector.sweep(counts: quiet, now: now + .seconds(21), using: &random) == .init(returned: ["c"]))
    }

    @Test func ejectionTimeIsCappedByTheLargerOfBaseAndMax() throws {
        var random = FixedRandom.high
        let failing = Self.counts(["c": 100])
        // Base 10 s, max 15 s: the second ejection lasts 15 s, not 20 s.
        var capped = Self.detector(try Self.failurePercentage(base: .seconds(10), max: .seconds(15)))
        var now = Self.start
        _ = capped.sweep(counts: failing, now: now, using: &random)
        now = now + .seconds(11)
        #expect(capped.sweep(counts: failing, now: now, using: &random) == .init(returned: ["c"]))
        now = now + .seconds(1)
        #expect(capped.sweep(counts: failing, now: now, using: &random).ejected == ["c"])
        #expect(capped.multiplier(of: "c") == 2)
        #expect(capped.sweep(counts: [:], now: now + .seconds(14), using: &random) == .init())
        #expect(capped.sweep(counts: [:], now: now + .seconds(16), using: &random) == .init(returned: ["c"]))
        // Base 30 s above max 10 s: ejections last 30 s.
        var baseWins = Self.detector(try Self.failurePercentage(base: .seconds(30), max: .seconds(10)))
        _ = baseWins.sweep(counts: failing, now: Self.start, using: &random)
        #expect(baseWins.sweep(counts: [:], now: Self.start + .seconds(20), using: &random) == .init())
        #expect(
            baseWins.sweep(counts: [:], now: Self.start + .seconds(31), using: &random) == .init(returned: ["c"]))
    }

    @Test func theMultiplierDecaysWhileHealthyButNotWhileEjected() throws {
        var random = FixedRandom.high
        var detector = Self.detector(try Self.failurePercentage(base: .seconds(1)))
        let failing = Self.counts(["c": 100])
        var now = Self.start
        // Ejected, returned and ejected again: multiplier 2.
        _ = detector.sweep(counts: failing, now: now, using: &random)
        now = now + .seconds(2)
        #expect(detector.sweep(counts: [:], now: now, using: &random).returned == ["c"])
        #expect(detector.sweep(counts: failing, now: now, using: &random).ejected == ["c"])
        #expect(detector.multiplier(of: "c") == 2)
        // Still ejected (2 s): no decay.
        now = now + .seconds(1)
        #expect(detector.sweep(counts: [:], now: now, using: &random) == .init())
        #expect(detector.multiplier(of: "c") == 2)
        // Returned this interval: no decay yet; then one a healthy interval, down to 0.
        now = now + .seconds(2)
        #expect(detector.sweep(counts: [:], now: now, using: &random).returned == ["c"])
        #expect(detector.multiplier(of: "c") == 2)
        for expected in [1, 0, 0] {
            now = now + .seconds(1)
            _ = detector.sweep(counts: Self.counts([:]), now: now, using: &random)
            #expect(detector.multiplier(of: "c") == expected)
        }
        // Back to a first ejection's length.
        #expect(detector.sweep(counts: failing, now: now, using: &random).ejected == ["c"])
        #expect(detector.multiplier(of: "c") == 1)
        #expect(
            detector.sweep(counts: [:], now: now + .milliseconds(1001), using: &random) == .init(returned: ["c"]))
    }

    @Test func addressesThatLeaveAreForgotten() throws {
        var random = FixedRandom.high
        var detector = Self.detector(try Self.failurePercentage())
        _ = detector.sweep(counts: Self.counts(["c": 100]), now: Self.start, using: &random)
        #expect(detector.isEjected("c"))
        detector.setAddresses(["a", "b", "d", "e", "a"])
        #expect(detector.addresses == ["a", "b", "d", "e"])
        #expect(!detector.isEjected("c"))
        detector.setAddresses(Self.addresses)
        #expect(!detector.isEjected("c"))
        #expect(detector.multiplier(of: "c") == 0)
        // Kept addresses keep their history.
        _ = detector.sweep(counts: Self.counts(["a": 100]), now: Self.start, using: &random)
        detector.setAddresses(["a", "b"])
        #expect(detector.isEjected("a"))
        #expect(detector.multiplier(of: "a") == 1)
    }
}
