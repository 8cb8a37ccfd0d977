import NIOHPACK
import Testing

@testable import GRPCSimple

/// One test per bug the fuzz targets of Fuzz/ found (docs/RELIABILITY.md, "Fuzzing"): the
/// smallest input that showed it, through the same parser, so the bug cannot come back
/// unnoticed between fuzz runs. Each input is also kept in the target's corpus,
/// Fuzz/Corpus/TARGET/crash-*, which `scripts/fuzz` replays.
@Suite struct FuzzFindingsTests {
    /// FuzzClientResponse: `:status 995` with `grpc-status: 0` made the call fail with an
    /// `RPCError` whose code was OK. A response that is not HTTP 200 never succeeds: its code
    /// comes from the HTTP status when grpc-status says OK.
    @Test func aResponseThatIsNotHTTP200FailsWithAnErrorCodeEvenIfItsGRPCStatusIsOK() {
        let headers: HPACKHeaders = [
            ":status": "995", "content-type": "application/grpc", "grpc-status": "0", "grpc-message": "fine",
        ]
        for endStream in [true, false] {
            guard case .invalid(let error, let reset) = ResponseHead.parse(headers, endStream: endStream) else {
                Issue.record("an HTTP 995 response must not be read as a gRPC response")
                continue
            }
            #expect(error.code == .unknown)
            #expect(error.message == "the server answered HTTP 995, not gRPC")
            #expect(reset == !endStream)
        }
        // A real gRPC status on a non-200 response is still the one reported.
        let unavailable: HPACKHeaders = [":status": "503", "grpc-status": "14", "grpc-message": "later"]
        guard case .invalid(let error, _) = ResponseHead.parse(unavailable, endStream: true) else {
            Issue.record("an HTTP 503 response must fail")
            return
        }
        #expect(error.code == .unavailable)
        #expect(error.message == "later")
    }

    /// FuzzServiceConfig: `"+501s"` was read as a duration (Int64's parser takes a sign), and
    /// `"0.-5s"` as a negative one. proto3 JSON writes a duration as digits, optionally a point
    /// and 1 to 9 digits, then `s`.
    @Test func aServiceConfigDurationIsOnlyDigitsAPointAndAnS() throws {
        for text in ["+501s", "0.-5s", "1.+5s", "+0.5s", "1.-0s", " 1s", "1 s"] {
            #expect(ConfigReader.parseDuration(text) == nil, "'\(text)' is not a duration")
        }
        #expect(ConfigReader.parseDuration("501s") == .seconds(501))
        #expect(ConfigReader.parseDuration("0.5s") == .milliseconds(500))
        #expect(ConfigReader.parseDuration("1.000000001s") == .seconds(1) + .nanoseconds(1))
        #expect(throws: RPCError.self) {
            try ServiceConfig(json: #"{"methodConfig": [{"name": [{}], "timeout": "0.-5s"}]}"#)
        }
    }

    /// FuzzServiceConfig: a retry policy whose backoffs are counted in centuries (a duration
    /// may be up to 315,576,000,000 s) trapped the client when a call was retried: the delay,
    /// up to `maxBackoff`, did not fit an `Int64` of nanoseconds. It is now bounded (at 9e18 ns,
    /// about 285 years).
    @Test func aRetryPolicyWithBackoffsOfCenturiesDoesNotTrap() throws {
        let config = try ServiceConfig(
            json: #"""
                {"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 3,
                  "initialBackoff": "100000000000s", "maxBackoff": "315576000000s",
                  "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
                """#)
        let policy = try #require(config.methodConfigs.first?.retryPolicy)
        var attempts = CallAttempts(policy: policy, bufferLimit: 1024, random: { 0.999_999 })
        let unavailable = Status(code: .unavailable, message: "later")
        for _ in 1..<policy.maxAttempts {
            guard case .retry(let delay) = attempts.decide(after: unavailable, pushback: nil, throttle: nil) else {
                Issue.record("a retryable failure within maxAttempts must be retried")
                return
            }
            #expect(delay == .nanoseconds(9_000_000_000_000_000_000))
        }
    }
}
