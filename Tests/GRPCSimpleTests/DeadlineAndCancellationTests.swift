import GRPCSimple
import TestServices
import Testing

/// Deadlines end calls on both sides; cancellation travels both ways.
@Suite struct DeadlineAndCancellationTests {
    @Test func expiredDeadlineEndsTheCallOnBothSides() async throws {
        try await withHarness { harness in
            // Connect first, so that the deadline is spent on the call, not on connecting.
            _ = try await harness.echo.get(.with { $0.text = "warm-up" })
            // Generous numbers: the test process runs every suite at once on two cores.
            let options = CallOptions(timeout: .seconds(2), metadata: ["sleep-ms": "20000"])
            let started = ContinuousClock.now
            let error = await expectRPCError {
                _ = try await harness.echo.get(.with { $0.text = "x" }, options: options)
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(ContinuousClock.now - started < .seconds(15), "ended before the 20 s handler did")
            // The server cancelled the handler's task.
            do {
                try await withTimeout(seconds: 20) {
                    try await harness.probe.wait(for: "cancelled /grpcsimple.echo.Echo/Get")
                }
            } catch {
                Issue.record("the handler was not cancelled; the service recorded \(harness.probe.events)")
            }
        }
    }

    @Test func serverSeesTheDeadline() async throws {
        try await withHarness { harness in
            // The server's own deadline fires even if the client were slow to act: a
            // deadline from the absolute option reaches the handler as grpc-timeout.
            _ = try await harness.echo.get(.with { $0.text = "warm-up" })
            let options = CallOptions(deadline: .now.advanced(by: .milliseconds(500)), metadata: ["sleep-ms": "5000"])
            let error = await expectRPCError {
                _ = try await harness.echo.get(.with { $0.text = "x" }, options: options)
            }
            #expect(error?.code == .deadlineExceeded)
        }
    }

    @Test func callWithinItsDeadlineSucceeds() async throws {
        try await withHarness { harness in
            let reply = try await harness.echo.get(
                .with { $0.text = "fast" }, options: CallOptions(timeout: .seconds(10)))
            #expect(reply.text == "fast")
        }
    }

    @Test func clientCancellationReachesTheHandler() async throws {
        try await withHarness { harness in
            let echo = harness.echo
            let task = Task {
                try await echo.get(.with { $0.text = "x" }, options: CallOptions(metadata: ["sleep-ms": "10000"]))
            }
            try await withTimeout(seconds: 20) {
                try await harness.probe.wait(for: "sleeping /grpcsimple.echo.Echo/Get")
            }
            task.cancel()
            let result = await task.result
            #expect(throws: RPCError.self) { try result.get() }
            if case .failure(let error as RPCError) = result {
                #expect(error.code == .cancelled)
            }
            try await withTimeout(seconds: 20) {
                try await harness.probe.wait(for: "cancelled /grpcsimple.echo.Echo/Get")
            }
        }
    }

    @Test func abandoningAResponseStreamCancelsTheServerHandler() async throws {
        try await withHarness { harness in
            do {
                let responses = harness.echo.expand(
                    .with { $0.text = String(repeating: "w", count: 100) },
                    options: CallOptions(metadata: ["repeat": "1000000"])
                )
                var iterator = responses.makeAsyncIterator()
                _ = try await iterator.next()
            }
            // The stream and its iterator are gone: the call is reset and the
            // handler, blocked on flow control, stops.
            do {
                try await withTimeout(seconds: 10) {
                    while !harness.probe.events.contains(where: { $0.hasPrefix("expand stopped after") }) {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
            } catch {
                Issue.record("the handler did not stop; it recorded \(harness.probe.events.suffix(3))")
            }
        }
    }

    @Test func clientThatDisappearsCancelsItsCalls() async throws {
        try await withHarness { harness in
            let channel = try GRPCChannel(host: "127.0.0.1", port: harness.port)
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            let task = Task {
                try await client.get(.with { $0.text = "x" }, options: CallOptions(metadata: ["sleep-ms": "10000"]))
            }
            try await withTimeout(seconds: 20) {
                try await harness.probe.wait(for: "sleeping /grpcsimple.echo.Echo/Get")
            }
            await channel.close()
            let result = await task.result
            #expect(throws: RPCError.self) { try result.get() }
            try await withTimeout(seconds: 20) {
                try await harness.probe.wait(for: "cancelled /grpcsimple.echo.Echo/Get")
            }
        }
    }
}
