import GRPCSimple
import NIOConcurrencyHelpers
import TestServices
import Testing

/// Message size limits and flow control.
@Suite struct LimitsTests {
    /// Bytes a request with `text` of `count` bytes takes on the wire, without the prefix:
    /// field tag, varint length, text.
    static func encodedSize(textLength count: Int) -> Int {
        var lengthBytes = 1
        var value = count >> 7
        while value > 0 {
            lengthBytes += 1
            value >>= 7
        }
        return 1 + lengthBytes + count
    }

    @Test func requestAtTheLimitPassesAndOneByteOverIsRejected() async throws {
        var configuration = Server.Configuration()
        configuration.maximumReceiveMessageSize = 64 * 1024
        try await withHarness(configuration: configuration) { harness in
            let limit = configuration.maximumReceiveMessageSize
            // Find the text length whose encoding is exactly the limit.
            var length = limit - 4
            while Self.encodedSize(textLength: length) > limit { length -= 1 }
            #expect(Self.encodedSize(textLength: length) == limit)
            let atLimit = try await harness.echo.get(.with { $0.text = String(repeating: "a", count: length) })
            #expect(atLimit.text.count == length)

            let error = await expectRPCError {
                _ = try await harness.echo.get(.with { $0.text = String(repeating: "a", count: length + 1) })
            }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.message.contains("\(limit + 1) vs. \(limit)") == true)
            // The connection still works.
            #expect(try await harness.echo.get(.with { $0.text = "after" }).text == "after")
        }
    }

    @Test func defaultLimitIsFourMebibytes() async throws {
        try await withHarness { harness in
            let limit = 4 * 1024 * 1024
            var length = limit - 4
            while Self.encodedSize(textLength: length) > limit { length -= 1 }
            let reply = try await harness.echo.get(.with { $0.text = String(repeating: "b", count: length) })
            #expect(reply.text.count == length)
            let error = await expectRPCError {
                _ = try await harness.echo.get(.with { $0.text = String(repeating: "b", count: length + 1) })
            }
            #expect(error?.code == .resourceExhausted)
        }
    }

    @Test func responseOverTheClientLimitIsRejected() async throws {
        var channelConfiguration = GRPCChannel.Configuration()
        channelConfiguration.maximumReceiveMessageSize = 1000
        try await withHarness(channelConfiguration: channelConfiguration) { harness in
            let fits = try await harness.echo.get(
                .with { $0.text = "x" }, options: CallOptions(metadata: ["payload-size": "990"]))
            #expect(fits.text.count == 990)
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" }, options: CallOptions(metadata: ["payload-size": "2000"]))
            }
            #expect(error?.code == .resourceExhausted)
        }
    }

    @Test func slowReaderAppliesBackPressure() async throws {
        try await withHarness { harness in
            // 100k messages of ~100 bytes: ~10 MB if nothing held the writer back.
            let word = String(repeating: "z", count: 100)
            let responses = harness.echo.expand(
                .with { $0.text = word },
                options: CallOptions(metadata: ["repeat": "100000"])
            )
            var iterator = responses.makeAsyncIterator()
            _ = try await iterator.next()
            try await Task.sleep(for: .milliseconds(500))
            // Windows (1 MiB stream) plus write buffers bound what the server could write.
            let written =
                harness.probe.events.compactMap { event -> Int? in
                    guard event.hasPrefix("expand wrote ") else { return nil }
                    return Int(event.dropFirst("expand wrote ".count))
                }.max() ?? 0
            #expect(written < 30_000, "the server wrote \(written) messages to a client that read one")
            #expect(!harness.probe.events.contains { $0.hasPrefix("expand done") })
            responses.cancel()
        }
    }

    @Test func slowServerAppliesBackPressureToAStreamingClient() async throws {
        try await withHarness { harness in
            let echo = harness.echo
            let written = NIOLockedValueBox(0)
            // The server sleeps 3 s before reading; the client tries to write ~10 MB.
            let call = Task {
                try await echo.collect(options: CallOptions(metadata: ["sleep-ms": "3000"])) { requests in
                    let text = String(repeating: "q", count: 100)
                    for _ in 0..<100_000 {
                        try await requests.write(.with { $0.text = text })
                        written.withLockedValue { $0 += 1 }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(1000))
            let count = written.withLockedValue { $0 }
            // Stream window (1 MiB) + connection window + write buffer bound what fits.
            #expect(count < 30_000, "the client wrote \(count) messages to a server that read none")
            call.cancel()
            _ = await call.result
        }
    }
}
