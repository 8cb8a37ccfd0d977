import GRPCSimple
import TestServices
import Testing

/// The server's event loop stays fair: a handler on it that streams without pause does
/// not starve the other calls and connections the loop serves (see `EventLoopTaskExecutor`).
@Suite struct FairnessTests {
    @Test func aFloodingStreamDoesNotStarveOtherConnectionsOnItsLoop() async throws {
        try await withHarness { harness in
            // The harness server has one event loop: both connections share it.
            let flood = harness.echo.expand(
                .with { $0.text = "flood" }, options: CallOptions(metadata: ["repeat": "100000000"]))
            let reader = Task {
                var received = 0
                for try await _ in flood { received += 1 }
                return received
            }
            // Starvation never ends (the flood would run for minutes), so the bounds below
            // only need to be far above what a loaded machine takes: with the whole suite
            // running beside 4 CPU hogs on 2 cores, the 20 calls took up to 7 s (0.2 s idle).
            try await withTimeout(seconds: 30) { try await harness.probe.wait(for: "expand wrote 20000") }

            let other = try GRPCChannel(host: "127.0.0.1", port: harness.port)
            let client = Grpcsimple_Echo_EchoClient(channel: other)
            do {
                try await withTimeout(seconds: 30) {
                    for index in 0..<20 {
                        let reply = try await client.get(.with { $0.text = "call \(index)" })
                        #expect(reply.text == "call \(index)")
                    }
                }
                #expect(
                    !harness.probe.events.contains { $0.hasPrefix("expand stopped") }, "the flood was still running")
            } catch {
                reader.cancel()
                await other.close()
                throw error
            }
            reader.cancel()
            await other.close()
        }
    }
}
