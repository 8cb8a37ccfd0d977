import GRPCSimple
import TestServices
import Testing

/// Each of the four kinds of RPC over a real loopback socket.
@Suite struct RPCKindTests {
    @Test func unary() async throws {
        try await withHarness { harness in
            let reply = try await harness.echo.get(.with { $0.text = "hello" })
            #expect(reply.text == "hello")
        }
    }

    @Test func unaryOverIPv6() async throws {
        try await withHarness(host: "::1") { harness in
            let channel = try GRPCChannel(target: "[::1]:\(harness.port)")
            let reply = try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "v6" })
            #expect(reply.text == "v6")
            await channel.close()
        }
    }

    @Test func unaryOverUnixDomainSocket() async throws {
        let path = "/tmp/grpc-simple-test-\(UInt32.random(in: 0...UInt32.max)).sock"
        let server = Server(services: [EchoService(probe: ServiceProbe())], workers: 1)
        try await server.start(unixDomainSocketPath: path)
        let channel = try GRPCChannel(target: "unix:\(path)")
        let reply = try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "unix" })
        #expect(reply.text == "unix")
        await channel.close()
        await server.shutdown()
    }

    @Test func serverStreaming() async throws {
        try await withHarness { harness in
            var texts: [String] = []
            for try await response in harness.echo.expand(.with { $0.text = "one two three" }) {
                texts.append(response.text)
            }
            #expect(texts == ["one", "two", "three"])
        }
    }

    @Test func clientStreaming() async throws {
        try await withHarness { harness in
            let reply = try await harness.echo.collect { requests in
                for word in ["a", "b", "c"] {
                    try await requests.write(.with { $0.text = word })
                }
            }
            #expect(reply.text == "a b c")
        }
    }

    @Test func clientStreamingWithNoRequests() async throws {
        try await withHarness { harness in
            let reply = try await harness.echo.collect { _ in }
            #expect(reply.text == "")
        }
    }

    @Test func bidirectionalPingPong() async throws {
        try await withHarness { harness in
            let replies = try await harness.echo.update { requests, responses in
                var replies: [String] = []
                var iterator = responses.makeAsyncIterator()
                for index in 0..<5 {
                    try await requests.write(.with { $0.text = "ping \(index)" })
                    let reply = try await iterator.next()
                    replies.append(reply?.text ?? "<none>")
                }
                requests.finish()
                #expect(try await iterator.next() == nil)
                return replies
            }
            #expect(replies == (0..<5).map { "ping \($0)" })
        }
    }

    @Test func generatedNamesForNestedImportedAndKeywordTypes() async throws {
        try await withHarness { harness in
            let client = Grpcsimple_Naming_NamingClient(channel: harness.channel)
            let nested = try await client.useNested(.with { $0.value = "v" })
            #expect(nested.text == "inner:v")
            let imported = try await client.import(.with { $0.text = "t" })
            #expect(imported.inner.value == "imported:t")
        }
    }

    @Test func manyMessagesStreamBothWays() async throws {
        try await withHarness { harness in
            let count = try await harness.echo.update { requests, responses in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    group.addTask {
                        var received = 0
                        for try await _ in responses { received += 1 }
                        return received
                    }
                    for index in 0..<2000 {
                        try await requests.write(.with { $0.text = String(repeating: "m", count: index % 300) })
                    }
                    requests.finish()
                    return try await group.next()!
                }
            }
            #expect(count == 2000)
        }
    }
}
