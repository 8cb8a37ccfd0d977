import NIOConcurrencyHelpers
import NIOCore
import TestServices
import Testing

@testable import GRPCSimple

/// Outlier detection (gRFC A50): the decisions alone (`OutlierDetector`, counts and a clock
/// in, ejections out), its settings in Swift and in service configs, and channels over
/// real servers where one fails every call.
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

    // MARK: Settings

    @Test func settingsHaveTheDefaultsOfTheGRFC() throws {
        let settings = try OutlierDetection(successRateEjection: .init(), failurePercentageEjection: .init())
        #expect(settings.interval == .seconds(10))
        #expect(settings.baseEjectionTime == .seconds(30))
        #expect(settings.maxEjectionTime == .seconds(300))
        #expect(settings.maxEjectionPercent == 10)
        #expect(
            settings.successRateEjection
                == (try .init(stdevFactor: 1900, enforcementPercentage: 100, minimumHosts: 5, requestVolume: 100)))
        #expect(
            settings.failurePercentageEjection
                == (try .init(threshold: 85, enforcementPercentage: 100, minimumHosts: 5, requestVolume: 50)))
        let policy = LoadBalancingConfiguration.outlierDetection(settings, child: .roundRobin)
        #expect(policy.name == "outlier_detection")
    }

    @Test func badSettingsInSwiftNameTheField() {
        let cases: [(() throws(RPCError) -> Void, String)] = [
            ({ () throws(RPCError) in _ = try OutlierDetection(interval: .zero) }, "OutlierDetection.interval"),
            (
                { () throws(RPCError) in _ = try OutlierDetection(baseEjectionTime: .seconds(-1)) },
                "OutlierDetection.baseEjectionTime"
            ),
            (
                { () throws(RPCError) in _ = try OutlierDetection(maxEjectionTime: .seconds(-1)) },
                "OutlierDetection.maxEjectionTime"
            ),
            (
                { () throws(RPCError) in _ = try OutlierDetection(maxEjectionPercent: 101) },
                "OutlierDetection.maxEjectionPercent must be 0 to 100, got 101"
            ),
            (
                { () throws(RPCError) in _ = try OutlierDetection.SuccessRateEjection(enforcementPercentage: -1) },
                "SuccessRateEjection.enforcementPercentage must be 0 to 100, got -1"
            ),
            (
                { () throws(RPCError) in _ = try OutlierDetection.SuccessRateEjection(stdevFactor: -5) },
                "SuccessRateEjection.stdevFactor"
            ),
            (
                { () throws(RPCError) in _ = try OutlierDetection.FailurePercentageEjection(threshold: 200) },
                "FailurePercentageEjection.threshold must be 0 to 100, got 200"
            ),
            (
                { () throws(RPCError) in _ = try OutlierDetection.FailurePercentageEjection(requestVolume: -1) },
                "FailurePercentageEjection.requestVolume"
            ),
        ]
        for (make, problem) in cases {
            do {
                try make()
                Issue.record("should not make: \(problem)")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.message.hasPrefix("invalid outlier detection: "), "\(error.message)")
                #expect(error.message.contains(problem), "\(error.message)")
            }
        }
    }

    @Test func theServiceConfigReadsOutlierDetection() throws {
        let config = try ServiceConfig(
            json: """
                {"loadBalancingConfig":[{"outlier_detection":{"interval":"10s","baseEjectionTime":"30s",
                "maxEjectionTime":"300s","maxEjectionPercent":10,"successRateEjection":{"stdevFactor":1900,
                "enforcementPercentage":100,"minimumHosts":5,"requestVolume":100},"failurePercentageEjection":
                {"threshold":85,"enforcementPercentage":100,"minimumHosts":5,"requestVolume":50},
                "childPolicy":[{"round_robin":{}}]}}]}
                """)
        let factory = try #require(config.loadBalancing?.factory as? OutlierDetectionPolicyFactory)
        #expect(factory.child.name == "round_robin")
        #expect(
            factory.configuration
                == (try OutlierDetection(successRateEjection: .init(), failurePercentageEjection: .init())))

        let partial = try ServiceConfig(
            json: """
                {"loadBalancingConfig":[{"outlier_detection_experimental":{"interval":"0.1s","maxEjectionPercent":"50",
                "failurePercentageEjection":{"threshold":60},
                "childPolicy":[{"weighted_target_experimental":{}},{"least_request":{"choiceCount":3}}]}}]}
                """)
        let partialFactory = try #require(partial.loadBalancing?.factory as? OutlierDetectionPolicyFactory)
        #expect(partialFactory.child.name == "least_request", "the first child policy this client has")
        #expect(partialFactory.configuration.interval == .milliseconds(100))
        #expect(partialFactory.configuration.maxEjectionPercent == 50)
        #expect(partialFactory.configuration.successRateEjection == nil)
        #expect(partialFactory.configuration.failurePercentageEjection?.threshold == 60)
        #expect(partialFactory.configuration.failurePercentageEjection?.requestVolume == 50)

        // Nested: outlier detection around outlier detection around pick_first.
        let nested = try ServiceConfig(
            json: """
                {"loadBalancingConfig":[{"outlier_detection":{"childPolicy":[{"outlier_detection":
                {"childPolicy":[{"pick_first":{}}]}}]}}]}
                """)
        let outer = try #require(nested.loadBalancing?.factory as? OutlierDetectionPolicyFactory)
        let inner = try #require(outer.child as? OutlierDetectionPolicyFactory)
        #expect(inner.child.name == "pick_first")
        #expect(!outer.configuration.isEnabled)
    }

    static let path = "loadBalancingConfig[0].outlier_detection"

    @Test(arguments: [
        (#"{"interval": "10"}"#, "\(path).interval must be a duration"),
        (#"{"interval": "0s"}"#, "\(path).interval must be positive"),
        (#"{"baseEjectionTime": "-1s"}"#, "\(path).baseEjectionTime must be a duration"),
        (#"{"maxEjectionTime": 5}"#, "\(path).maxEjectionTime must be a string"),
        (#"{"maxEjectionPercent": 101}"#, "\(path).maxEjectionPercent must be 0 to 100, got 101"),
        (#"{"maxEjectionPercent": 1.5}"#, "\(path).maxEjectionPercent must be a whole number"),
        (
            #"{"successRateEjection": {"enforcementPercentage": 150}}"#,
            "\(path).successRateEjection.enforcementPercentage must be 0 to 100, got 150"
        ),
        (#"{"successRateEjection": {"stdevFactor": -1}}"#, "\(path).successRateEjection.stdevFactor must be 0 to"),
        (#"{"successRateEjection": {"minimumHosts": "x"}}"#, "\(path).successRateEjection.minimumHosts must be a"),
        (#"{"successRateEjection": []}"#, "\(path).successRateEjection must be an object"),
        (
            #"{"failurePercentageEjection": {"threshold": 101}}"#,
            "\(path).failurePercentageEjection.threshold must be 0 to 100, got 101"
        ),
        (
            #"{"failurePercentageEjection": {"enforcementPercentage": -1}}"#,
            "\(path).failurePercentageEjection.enforcementPercentage must be 0 to 100"
        ),
        (
            #"{"failurePercentageEjection": {"requestVolume": 5000000000}}"#,
            "\(path).failurePercentageEjection.requestVolume must be 0 to 4294967295"
        ),
    ])
    func badOutlierDetectionSettingsSayWhereAndWhy(settings: String, problem: String) {
        // A valid child, so that only the settings are wrong.
        let json =
            #"{"loadBalancingConfig": [{"outlier_detection": "#
            + settings.dropLast() + (settings == "{}" ? "" : ", ")
            + #""childPolicy": [{"round_robin": {}}]}}]}"#
        Self.expectInvalid(json, problem)
    }

    @Test(arguments: [
        (#"{}"#, "\(path).childPolicy must name the policy to wrap"),
        (#"{"childPolicy": []}"#, "\(path).childPolicy must name the policy to wrap"),
        (#"{"childPolicy": {}}"#, "\(path).childPolicy must be an array"),
        (#"{"childPolicy": [{"grpclb": {}}]}"#, "\(path).childPolicy names no policy this client has (grpclb)"),
        (
            #"{"childPolicy": [{"least_request": {"choiceCount": 1}}]}"#,
            "\(path).childPolicy[0].least_request.choiceCount must be at least 2"
        ),
    ])
    func aMissingOrBadChildPolicySaysWhereAndWhy(settings: String, problem: String) {
        Self.expectInvalid(#"{"loadBalancingConfig": [{"outlier_detection": "# + settings + "}]}", problem)
    }

    static func expectInvalid(_ json: String, _ problem: String) {
        do {
            _ = try ServiceConfig(json: json)
            Issue.record("should not read: \(json)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("invalid service config: "), "\(error.message)")
            #expect(error.message.contains(problem), "\(error.message)")
        }
    }

    // MARK: Over real servers

    // Call counts are judged per interval, so these tests keep ten callers busy rather
    // than one: on a loaded machine (the whole suite runs in parallel) one caller may not
    // reach the request volume within an interval.

    typealias Backend = LoadBalancingTests.Backend

    /// `count` echo servers; those at `failing` fail every call while `failures` is on.
    static func withBackends<T>(
        _ count: Int,
        failing: Set<Int>,
        failures: FailureSwitch = FailureSwitch(),
        _ body: ([Backend]) async throws -> T
    ) async throws -> T {
        var backends: [Backend] = []
        do {
            for index in 0..<count {
                let probe = ServiceProbe()
                let service = EchoService(probe: probe, failures: failing.contains(index) ? failures : nil)
                let server = Server(services: [service], workers: 1)
                try await server.start(host: "127.0.0.1", port: 0)
                backends.append(
                    Backend(server: server, probe: probe, address: try .ip("127.0.0.1", port: server.port!)))
            }
            let result = try await body(backends)
            for backend in backends { await backend.server.shutdown(gracePeriod: .zero) }
            return result
        } catch {
            for backend in backends { await backend.server.shutdown(gracePeriod: .zero) }
            throw error
        }
    }

    static func channel(to backends: [Backend], serviceConfig: String) throws -> GRPCChannel {
        var configuration = GRPCChannel.Configuration()
        configuration.serviceConfig = try ServiceConfig(json: serviceConfig)
        return try GRPCChannel(
            target: "ipv4:" + backends.map(\.hostPort).joined(separator: ","), configuration: configuration)
    }

    /// Keeps `workers` callers making unary calls with `options` until `condition` holds
    /// (looked at every few milliseconds) or `timeout` passes; whether it held. The calls
    /// under way then finish (they are not cancelled), so the servers have counted them.
    static func load(
        _ client: Grpcsimple_Echo_EchoClient,
        workers: Int = 10,
        options: CallOptions = CallOptions(),
        cancellingAfter cancelDelay: Duration? = nil,
        until condition: () async -> Bool,
        within timeout: Duration
    ) async -> Bool {
        let stop = NIOLockedValueBox(false)
        return await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    while !stop.withLockedValue({ $0 }) {
                        guard let cancelDelay else {
                            _ = try? await client.get(.with { $0.text = "load" }, options: options)
                            continue
                        }
                        // The caller gives up: its task is cancelled while the call runs.
                        let call = Task { try await client.get(.with { $0.text = "load" }, options: options) }
                        try? await Task.sleep(for: cancelDelay)
                        call.cancel()
                        _ = try? await call.value
                    }
                }
            }
            let held = await eventually(within: timeout, condition)
            stop.withLockedValue { $0 = true }
            await group.waitForAll()
            return held
        }
    }

    /// Makes `count` unary calls, ten at a time; how many succeeded.
    static func succeeded(_ count: Int, on client: Grpcsimple_Echo_EchoClient) async -> Int {
        await withTaskGroup(of: Int.self) { group in
            for worker in 0..<10 {
                group.addTask {
                    var succeeded = 0
                    for index in stride(from: worker, to: count, by: 10)
                    where (try? await client.get(.with { $0.text = "\(index)" })) != nil {
                        succeeded += 1
                    }
                    return succeeded
                }
            }
            return await group.reduce(0, +)
        }
    }

    @Test func aBackendFailingEveryCallIsEjectedThenComesBack() async throws {
        try await Self.withBackends(5, failing: [2]) { backends in
            let baseEjectionTime = Duration.seconds(4)
            let channel = try Self.channel(
                to: backends,
                serviceConfig: """
                    {"loadBalancingConfig": [{"outlier_detection": {
                      "interval": "0.2s", "baseEjectionTime": "4s", "maxEjectionPercent": 20,
                      "failurePercentageEjection": {"threshold": 50, "minimumHosts": 5, "requestVolume": 3},
                      "childPolicy": [{"round_robin": {}}]
                    }}]}
                    """)
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            let failing = backends[2]

            #expect(
                await Self.load(client, until: { await channel.ejectedSubchannelCount() == 1 }, within: .seconds(60)),
                "the failing backend is ejected")
            let ejectedAt = ContinuousClock.now
            let failingCalls = failing.unaryCalls
            let healthyCalls = backends.map(\.unaryCalls).reduce(0, +) - failingCalls
            let succeeded = await Self.succeeded(20, on: client)
            // Unless this machine took most of the ejection time for those calls, none went
            // to the ejected backend.
            if ContinuousClock.now - ejectedAt < baseEjectionTime - .seconds(1) {
                #expect(succeeded == 20)
                #expect(failing.unaryCalls == failingCalls, "no new call to the ejected backend")
                #expect(backends.map(\.unaryCalls).reduce(0, +) - failing.unaryCalls == healthyCalls + 20)
            }

            // After the ejection time it gets calls again (and fails them).
            #expect(
                await Self.load(client, until: { failing.unaryCalls > failingCalls }, within: .seconds(60)),
                "the ejected backend comes back")
            #expect(ContinuousClock.now - ejectedAt >= baseEjectionTime - .seconds(1), "not before its time")
            await channel.close()
        }
    }

    @Test func successRateEjectsTheBackendThatFailsAndTheOthersTakeItsCalls() async throws {
        try await Self.withBackends(5, failing: [0]) { backends in
            let channel = try LoadBalancingTests.channel(
                to: backends,
                policy: .outlierDetection(
                    try OutlierDetection(
                        interval: .milliseconds(200),
                        successRateEjection: .init(minimumHosts: 5, requestVolume: 3)
                    ),
                    child: .roundRobin
                )
            )
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            #expect(
                await Self.load(client, until: { await channel.ejectedSubchannelCount() == 1 }, within: .seconds(60)),
                "the failing backend is ejected")
            let failingCalls = backends[0].unaryCalls
            // Ejected for 30 s (the default): every call now succeeds on the others.
            #expect(await Self.succeeded(40, on: client) == 40)
            #expect(backends[0].unaryCalls == failingCalls)
            #expect(await channel.ejectedSubchannelCount() == 1, "at most 10%: one address")
            await channel.close()
        }
    }

    @Test func aBackendThatRecoversIsUsedAgainAndStaysIn() async throws {
        let failures = FailureSwitch()
        try await Self.withBackends(3, failing: [1], failures: failures) { backends in
            let channel = try LoadBalancingTests.channel(
                to: backends,
                policy: .outlierDetection(
                    try OutlierDetection(
                        interval: .milliseconds(200),
                        baseEjectionTime: .milliseconds(500),
                        maxEjectionPercent: 50,
                        failurePercentageEjection: .init(threshold: 50, minimumHosts: 3, requestVolume: 3)
                    ),
                    child: .roundRobin
                )
            )
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            #expect(
                await Self.load(client, until: { await channel.ejectedSubchannelCount() == 1 }, within: .seconds(60)))
            failures.isOn = false
            // Once back, it answers; nothing is ejected again.
            #expect(
                await Self.load(client, until: { await channel.ejectedSubchannelCount() == 0 }, within: .seconds(60)))
            let before = backends[1].unaryCalls
            #expect(await Self.succeeded(30, on: client) == 30)
            #expect(backends[1].unaryCalls > before, "the recovered backend takes calls")
            #expect(await Self.load(client, until: { false }, within: .milliseconds(600)) == false)
            #expect(await channel.ejectedSubchannelCount() == 0)
            await channel.close()
        }
    }

    @Test func callsTheClientGivesUpOnAreNotCounted() async throws {
        try await Self.withBackends(5, failing: []) { backends in
            let serviceConfig = """
                {"loadBalancingConfig": [{"outlier_detection": {
                  "interval": "0.2s", "maxEjectionPercent": 100,
                  "failurePercentageEjection": {"threshold": 50, "minimumHosts": 5, "requestVolume": 2},
                  "childPolicy": [{"round_robin": {}}]
                }}]}
                """
            // Every caller gives up (its task is cancelled) while the server sleeps: nothing is
            // ejected, though every call fails. (Not a deadline: the server would race the
            // client to it, and the server's DEADLINE_EXCEEDED does count.)
            let patient = try Self.channel(to: backends, serviceConfig: serviceConfig)
            let sleeping = CallOptions(metadata: ["sleep-ms": "5000"])
            let start = ContinuousClock.now
            let handled = { backends.map(\.unaryCalls).reduce(0, +) }
            #expect(
                await Self.load(
                    Grpcsimple_Echo_EchoClient(channel: patient), options: sleeping, cancellingAfter: .milliseconds(50),
                    until: { ContinuousClock.now - start > .seconds(2) && handled() >= 200 },
                    within: .seconds(60)))
            #expect(await patient.ejectedSubchannelCount() == 0)
            await patient.close()

            // The same calls failed by the server with DEADLINE_EXCEEDED count.
            let strict = try Self.channel(to: backends, serviceConfig: serviceConfig)
            let failed = CallOptions(metadata: ["fail-code": "4"])
            #expect(
                await Self.load(
                    Grpcsimple_Echo_EchoClient(channel: strict), options: failed,
                    until: { await strict.ejectedSubchannelCount() > 0 }, within: .seconds(60)))
            await strict.close()
        }
    }

    @Test func withoutAnAlgorithmNothingIsEjected() async throws {
        try await Self.withBackends(3, failing: [1]) { backends in
            let channel = try LoadBalancingTests.channel(
                to: backends,
                policy: .outlierDetection(try OutlierDetection(interval: .milliseconds(50)), child: .roundRobin)
            )
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            #expect(
                await Self.load(client, until: { await channel.readySubchannelCount() == 3 }, within: .seconds(60)))
            for _ in 0..<2 {
                let before = backends.map(\.unaryCalls)
                // One at a time over three READY backends: round robin gives each 5 of 15.
                var succeeded = 0
                for index in 0..<15 where (try? await client.get(.with { $0.text = "\(index)" })) != nil {
                    succeeded += 1
                }
                #expect(succeeded == 10)
                #expect(zip(backends, before).map { $0.unaryCalls - $1 } == [5, 5, 5])
                try await Task.sleep(for: .milliseconds(150))
            }
            #expect(await channel.ejectedSubchannelCount() == 0)
            await channel.close()
        }
    }
}

extension GRPCChannel {
    /// How many of the channel's subchannels outlier detection ejects now (for tests).
    func ejectedSubchannelCount() async -> Int {
        let core = self.core
        return (try? await self.eventLoop.submit { core.value.ejectedSubchannelCount }.get()) ?? 0
    }
}
