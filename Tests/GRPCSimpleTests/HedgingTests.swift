import TestServices
import Testing

@testable import GRPCSimple

/// Hedging (gRFC A6) over real sockets: a unary call sent again while the first attempt
/// is slow, the first answer kept and the others cancelled.
@Suite struct HedgingTests {
    static func hedgingChannel(
        delay: String,
        maxAttempts: Int = 3,
        nonFatal: [String] = ["UNAVAILABLE"],
        policy: String = "pick_first"
    ) throws -> GRPCChannel.Configuration {
        var configuration = GRPCChannel.Configuration()
        let codes = nonFatal.map { "\"\($0)\"" }.joined(separator: ",")
        configuration.serviceConfig = try ServiceConfig(
            json: """
                {
                  "loadBalancingConfig": [{"\(policy)": {}}],
                  "methodConfig": [{
                    "name": [{"service": "grpcsimple.echo.Echo", "method": "Get"}],
                    "hedgingPolicy": {"maxAttempts": \(maxAttempts), "hedgingDelay": "\(delay)", "nonFatalStatusCodes": [\(codes)]}
                  }]
                }
                """
        )
        return configuration
    }

    @Test func aSlowServerIsOvertakenByAHedgeOnAnother() async throws {
        // One server answers after 30 s; every call has 10 s. Without hedging, the calls
        // round robin gives it would all fail with DEADLINE_EXCEEDED.
        let slow = try await LoadBalancingTests.Backend.start(getDelay: .seconds(30))
        let fast = try await LoadBalancingTests.Backend.start()
        let configuration = try Self.hedgingChannel(delay: "0.05s", maxAttempts: 2, policy: "round_robin")
        let channel = try GRPCChannel(target: "ipv4:\(slow.hostPort),\(fast.hostPort)", configuration: configuration)
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        channel.connect()
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 2 })
        for index in 0..<6 {
            let reply = try await client.get(
                .with { $0.text = "\(index)" }, options: CallOptions(timeout: .seconds(10)))
            #expect(reply.text == "\(index)")
        }
        #expect(slow.unaryCalls > 0, "some first attempts went to the slow server")
        #expect(fast.unaryCalls >= 6)
        await channel.close()
        for backend in [slow, fast] { await backend.server.shutdown(gracePeriod: .zero) }
    }

    @Test func aNonFatalFailureSendsTheNextAttemptAtOnce() async throws {
        // The hedging delay (60 s) is longer than the call's deadline: only the failures'
        // own trigger can send attempts 2 and 3 in time.
        try await withHarness(channelConfiguration: try Self.hedgingChannel(delay: "60s")) { harness in
            let reply = try await harness.echo.get(
                .with { $0.text = "third" },
                options: CallOptions(timeout: .seconds(10), metadata: ["fail-before-attempt": "3"])
            )
            #expect(reply.text == "third")
            #expect(RetryTests.attempts(harness) == ["attempt 1", "attempt 2", "attempt 3"])
        }
    }

    @Test func aFatalStatusEndsTheCall() async throws {
        try await withHarness(channelConfiguration: try Self.hedgingChannel(delay: "60s")) { harness in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" },
                    options: CallOptions(metadata: ["fail-before-attempt": "9", "fail-attempt-code": "5"])
                )
            }
            #expect(error?.code == .notFound)
            #expect(RetryTests.attempts(harness) == ["attempt 1"])
        }
    }

    @Test func whenEveryAttemptFailsTheLastFailureIsTheCalls() async throws {
        try await withHarness(channelConfiguration: try Self.hedgingChannel(delay: "60s")) { harness in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" }, options: CallOptions(metadata: ["fail-before-attempt": "9"]))
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message == "attempt 3 fails")
            #expect(RetryTests.attempts(harness).count == 3)
        }
    }

    @Test func aNegativePushbackStopsHedging() async throws {
        try await withHarness(channelConfiguration: try Self.hedgingChannel(delay: "60s")) { harness in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" },
                    options: CallOptions(metadata: ["fail-before-attempt": "9", "pushback-ms": "-1"])
                )
            }
            #expect(error?.code == .unavailable)
            #expect(RetryTests.attempts(harness) == ["attempt 1"])
        }
    }

    @Test func theCallersDeadlineEndsEveryAttempt() async throws {
        try await withHarness(channelConfiguration: try Self.hedgingChannel(delay: "0.02s")) { harness in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" },
                    options: CallOptions(timeout: .seconds(3), metadata: ["sleep-ms": "30000"])
                )
            }
            #expect(error?.code == .deadlineExceeded)
            // Every attempt that reached the server (up to three, as the loaded machine
            // allows in 3 s) was cancelled there.
            let count = { (event: String) in harness.probe.events.filter { $0 == event }.count }
            #expect(
                await eventually(within: .seconds(10)) {
                    let sleeping = count("sleeping /grpcsimple.echo.Echo/Get")
                    return sleeping >= 1 && sleeping == count("cancelled /grpcsimple.echo.Echo/Get")
                })
            #expect((1...3).contains(count("sleeping /grpcsimple.echo.Echo/Get")))
        }
    }

    @Test func otherMethodsAndKindsAreNotHedged() async throws {
        try await withHarness(channelConfiguration: try Self.hedgingChannel(delay: "0.01s")) { harness in
            // Expand is not named by the config: one attempt, however slow.
            var seen = 0
            for try await _ in harness.echo.expand(.with { $0.text = "a b" }) { seen += 1 }
            #expect(seen == 2)
            #expect(harness.probe.events.filter { $0 == "handling /grpcsimple.echo.Echo/Expand" }.count == 1)
        }
    }
}
