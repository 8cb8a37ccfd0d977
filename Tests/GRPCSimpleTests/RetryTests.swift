import NIOCore
import TestServices
import Testing

@testable import GRPCSimple

/// Retries (gRFC A6) over real sockets: a server that fails the first attempts, and a
/// channel whose service config retries.
@Suite struct RetryTests {
    static func retryingChannel(
        maxAttempts: Int = 4,
        codes: [String] = ["UNAVAILABLE"],
        throttling: String? = nil
    ) throws -> GRPCChannel.Configuration {
        var configuration = GRPCChannel.Configuration()
        configuration.serviceConfig = try ServiceConfig(
            json: """
                {
                  "methodConfig": [{
                    "name": [{"service": "grpcsimple.echo.Echo"}],
                    "retryPolicy": {
                      "maxAttempts": \(maxAttempts), "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                      "backoffMultiplier": 2, "retryableStatusCodes": [\(codes.map { "\"\($0)\"" }.joined(separator: ","))]
                    }
                  }]
                  \(throttling.map { #", "retryThrottling": \#($0)"# } ?? "")
                }
                """
        )
        return configuration
    }

    static func attempts(_ harness: TestHarness) -> [String] {
        harness.probe.events.filter { $0.hasPrefix("attempt ") }
    }

    @Test func aUnaryCallIsRetriedUntilItSucceedsAndTheServerSeesTheAttemptNumbers() async throws {
        try await withHarness(channelConfiguration: try Self.retryingChannel()) { harness in
            let reply = try await harness.echo.get(
                .with { $0.text = "third time" },
                options: CallOptions(metadata: ["fail-before-attempt": "3"])
            )
            #expect(reply.text == "third time")
            #expect(Self.attempts(harness) == ["attempt 1", "attempt 2", "attempt 3"])
        }
    }

    @Test func attemptsAreCappedByMaxAttempts() async throws {
        try await withHarness(channelConfiguration: try Self.retryingChannel(maxAttempts: 3)) { harness in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" }, options: CallOptions(metadata: ["fail-before-attempt": "9"]))
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message == "attempt 3 fails")
            #expect(Self.attempts(harness).count == 3)
        }
    }

    @Test func aStatusTheCodesDoNotListIsNotRetried() async throws {
        try await withHarness(channelConfiguration: try Self.retryingChannel()) { harness in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" },
                    options: CallOptions(metadata: ["fail-before-attempt": "3", "fail-attempt-code": "9"])
                )
            }
            #expect(error?.code == .failedPrecondition)
            #expect(Self.attempts(harness) == ["attempt 1"])
        }
    }

    @Test func withoutAPolicyNothingIsRetried() async throws {
        try await withHarness { harness in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" }, options: CallOptions(metadata: ["fail-before-attempt": "2"]))
            }
            #expect(error?.code == .unavailable)
            #expect(Self.attempts(harness) == ["attempt 1"])
        }
    }

    @Test func theServersPushbackSetsTheDelayOrStopsTheRetries() async throws {
        try await withHarness(channelConfiguration: try Self.retryingChannel()) { harness in
            let started = ContinuousClock.now
            let reply = try await harness.echo.get(
                .with { $0.text = "later" },
                options: CallOptions(metadata: ["fail-before-attempt": "2", "pushback-ms": "400"])
            )
            #expect(reply.text == "later")
            #expect(ContinuousClock.now - started >= .milliseconds(400), "the client waited as the server asked")

            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "never" },
                    options: CallOptions(metadata: ["fail-before-attempt": "2", "pushback-ms": "-1"])
                )
            }
            #expect(error?.code == .unavailable)
            #expect(
                Self.attempts(harness) == ["attempt 1", "attempt 2", "attempt 1"], "no retry after a negative pushback")
        }
    }

    @Test func throttlingStopsARetryStorm() async throws {
        let configuration = try Self.retryingChannel(
            maxAttempts: 5, throttling: #"{"maxTokens": 10, "tokenRatio": 0.1}"#)
        try await withHarness(channelConfiguration: configuration) { harness in
            for _ in 0..<10 {
                _ = await expectRPCError {
                    _ = try await harness.echo.get(
                        .with { $0.text = "x" }, options: CallOptions(metadata: ["fail-before-attempt": "99"]))
                }
            }
            // 10 tokens, one per failed attempt, retries only above 5: the first call makes
            // 5 attempts (10 → 5 tokens), every later call one. Without throttling: 50.
            #expect(Self.attempts(harness).count == 5 + 9)
        }
    }

    @Test func aClientStreamingCallIsRetriedWithItsRequests() async throws {
        try await withHarness(channelConfiguration: try Self.retryingChannel()) { harness in
            let reply = try await harness.echo.collect(options: CallOptions(metadata: ["fail-before-attempt": "2"])) {
                requests in
                for word in ["a", "b", "c"] {
                    try await requests.write(.with { $0.text = word })
                }
            }
            #expect(reply.text == "a b c")
            #expect(Self.attempts(harness) == ["attempt 1", "attempt 2"])
        }
    }

    @Test func aServerStreamingCallIsRetriedBeforeItsFirstResponseOnly() async throws {
        try await withHarness(channelConfiguration: try Self.retryingChannel()) { harness in
            var words: [String] = []
            for try await response in harness.echo.expand(
                .with { $0.text = "p q" },
                options: CallOptions(metadata: ["fail-before-attempt": "2"])
            ) {
                words.append(response.text)
            }
            #expect(words == ["p", "q"])
            #expect(Self.attempts(harness) == ["attempt 1", "attempt 2"])
            // A failure after messages (response headers came) is the call's: not retried.
            let error = await expectRPCError {
                for try await _ in harness.echo.expand(
                    .with { $0.text = "a b" },
                    options: CallOptions(metadata: ["fail-code": "14"])
                ) {}
            }
            #expect(error?.code == .unavailable)
        }
    }

    @Test func callsToAStoppedBackendAreRetriedOnTheOthers() async throws {
        let backends = [
            try await LoadBalancingTests.Backend.start(), try await LoadBalancingTests.Backend.start(),
            try await LoadBalancingTests.Backend.start(),
        ]
        var configuration = try Self.retryingChannel(maxAttempts: 5)
        configuration.loadBalancing = .roundRobin
        let channel = try GRPCChannel(
            target: "ipv4:" + backends.map(\.hostPort).joined(separator: ","),
            configuration: configuration
        )
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        channel.connect()
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 3 })
        // Calls in flight on the backend when it stops, and calls made right after, all succeed.
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var failed = 0
                    for index in 0..<40 {
                        do {
                            _ = try await client.get(
                                .with { $0.text = "\(worker)-\(index)" },
                                options: CallOptions(metadata: ["sleep-ms": "5"])
                            )
                        } catch {
                            failed += 1
                        }
                    }
                    return failed
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            await backends[1].server.shutdown(gracePeriod: .zero)
            return try await group.reduce(0, +)
        }
        #expect(failures == 0)
        await channel.close()
        for backend in backends { await backend.server.shutdown(gracePeriod: .zero) }
    }

    @Test func retryDecisions() {
        let policy = RetryPolicy(
            maxAttempts: 3,
            initialBackoff: .seconds(1),
            maxBackoff: .seconds(3),
            backoffMultiplier: 4,
            retryableStatusCodes: [.unavailable]
        )
        var attempts = CallAttempts(policy: policy, bufferLimit: 100, random: { 0.5 })
        attempts.queue(ByteBuffer(repeating: 1, count: 10), trackedBytes: 10, end: true)
        #expect(attempts.takeUnwritten().count == 1)
        let unavailable = Status(code: .unavailable)
        #expect(attempts.decide(after: unavailable, pushback: nil, throttle: nil) == .retry(after: .milliseconds(500)))
        #expect(attempts.takeUnwritten().map(\.trackedBytes) == [0], "sent again, counted once")
        #expect(
            attempts.decide(after: unavailable, pushback: nil, throttle: nil) == .retry(after: .milliseconds(1500)),
            "min(1 × 4, 3) × 0.5")
        #expect(attempts.decide(after: unavailable, pushback: nil, throttle: nil) == .fail, "three attempts made")

        var pushed = CallAttempts(policy: policy, bufferLimit: 100)
        #expect(pushed.decide(after: unavailable, pushback: "250", throttle: nil) == .retry(after: .milliseconds(250)))
        var refused = CallAttempts(policy: policy, bufferLimit: 100)
        #expect(refused.decide(after: unavailable, pushback: "-1", throttle: nil) == .fail)
        #expect(refused.decide(after: Status(code: .internal), pushback: nil, throttle: nil) == .fail)

        var committed = CallAttempts(policy: policy, bufferLimit: 100)
        committed.commit()
        #expect(committed.decide(after: unavailable, pushback: nil, throttle: nil) == .fail)

        // Past the buffer limit, the call commits.
        var big = CallAttempts(policy: policy, bufferLimit: 100)
        _ = big.takeUnwritten()
        big.wrote(ByteBuffer(repeating: 1, count: 60), end: false)
        big.wrote(ByteBuffer(repeating: 1, count: 60), end: false)
        #expect(big.isCommitted)
        #expect(big.decide(after: unavailable, pushback: nil, throttle: nil) == .fail)

        // Without a policy: only a request whole at start is kept, for a transparent retry.
        var unary = CallAttempts(policy: nil, bufferLimit: 100)
        unary.queue(ByteBuffer(repeating: 1, count: 10), trackedBytes: 0, end: true)
        _ = unary.takeUnwritten()
        #expect(unary.transparentRetry() == true)
        var streaming = CallAttempts(policy: nil, bufferLimit: 100)
        _ = streaming.takeUnwritten()
        streaming.wrote(ByteBuffer(repeating: 1, count: 10), end: false)
        #expect(streaming.transparentRetry() == false)

        let throttle = RetryThrottle(RetryThrottling(maxTokens: 4, tokenRatio: 0.5))
        var throttled = CallAttempts(policy: policy, bufferLimit: 100)
        #expect(
            throttled.decide(after: unavailable, pushback: nil, throttle: throttle) != .fail, "4 → 3 tokens, above 2")
        #expect(
            throttled.decide(after: unavailable, pushback: nil, throttle: throttle) == .fail,
            "3 → 2 tokens: not above half")
        throttle.recordSuccess()
        #expect(throttle.tokens == 2.5)
    }

    @Test func theChannelsRetryBufferIsSharedAndGivenBack() {
        let policy = RetryPolicy(
            maxAttempts: 3, initialBackoff: .seconds(1), maxBackoff: .seconds(1), backoffMultiplier: 1,
            retryableStatusCodes: [.unavailable])
        let budget = RetryBufferBudget(limit: 150)
        let unavailable = Status(code: .unavailable)
        var first = CallAttempts(policy: policy, bufferLimit: 1000)
        first.share(budget)
        _ = first.takeUnwritten()
        first.wrote(ByteBuffer(repeating: 1, count: 100), end: false)
        #expect(budget.used == 100 && !first.isCommitted)

        // The second call's messages do not fit beside the first's: it commits, holding nothing.
        var second = CallAttempts(policy: policy, bufferLimit: 1000)
        second.queue(ByteBuffer(repeating: 2, count: 80), trackedBytes: 80, end: true)
        second.share(budget)
        _ = second.takeUnwritten()
        #expect(second.isCommitted)
        #expect(second.decide(after: unavailable, pushback: nil, throttle: nil) == .fail)
        #expect(budget.used == 100)

        // The first commits (its response headers came): its bytes are given back.
        first.commit()
        #expect(budget.used == 0)
        var third = CallAttempts(policy: policy, bufferLimit: 1000)
        third.share(budget)
        _ = third.takeUnwritten()
        third.wrote(ByteBuffer(repeating: 3, count: 120), end: true)
        #expect(!third.isCommitted && budget.used == 120)
        _ = third.dropAll()
        #expect(budget.used == 0, "a call that ends gives everything back")

        // A call without a policy never counts.
        var plain = CallAttempts(policy: nil, bufferLimit: 1000)
        plain.share(budget)
        plain.queue(ByteBuffer(repeating: 4, count: 140), trackedBytes: 0, end: true)
        #expect(budget.used == 0)
    }
}
