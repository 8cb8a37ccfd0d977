import GRPCSimple
import NIOHPACK
import SwiftProtobuf
import TestServices
import Testing

/// Calls of methods known only by their path, with `RawMessage` (what `grpc-simple call`
/// does), and the channel settings the command line needs: `:authority`, and accepting any
/// TLS certificate.
@Suite struct RawMessageTests {
    static func raw(_ text: String) throws -> RawMessage {
        try RawMessage(
            serializedBytes: Grpcsimple_Echo_EchoRequest.with { $0.text = text }.serializedBytes() as [UInt8])
    }

    static func text(_ message: RawMessage) throws -> String {
        try Grpcsimple_Echo_EchoResponse(serializedBytes: message.bytes).text
    }

    static func method(_ name: String, _ kind: RPCKind) throws -> MethodDescriptor {
        try #require(MethodDescriptor(path: "/grpcsimple.echo.Echo/\(name)", kind: kind))
    }

    @Test func bytesPassThroughEveryKindOfCall() async throws {
        try await withHarness { harness in
            let channel = harness.channel
            let unary = try await channel.unary(
                try Self.method("Get", .unary), request: try Self.raw("one"), responseType: RawMessage.self)
            #expect(try Self.text(unary) == "one")

            var words: [String] = []
            for try await response in channel.serverStreaming(
                try Self.method("Expand", .serverStreaming), request: try Self.raw("a b c"),
                responseType: RawMessage.self)
            {
                words.append(try Self.text(response))
            }
            #expect(words == ["a", "b", "c"])

            let joined = try await channel.clientStreaming(
                try Self.method("Collect", .clientStreaming), responseType: RawMessage.self
            ) {
                writer in
                try await writer.write(try Self.raw("x"))
                try await writer.write(try Self.raw("y"))
            }
            #expect(try Self.text(joined) == "x y")

            let echoed = try await channel.bidirectionalStreaming(
                try Self.method("Update", .bidirectionalStreaming), responseType: RawMessage.self
            ) { (writer: RequestWriter<RawMessage>, responses) in
                try await writer.write(try Self.raw("ping"))
                var iterator = responses.makeAsyncIterator()
                let first = try await iterator.next()
                writer.finish()
                return try first.map(Self.text)
            }
            #expect(echoed == "ping")
        }
    }

    @Test func aRawMessageKeepsItsBytesExactly() throws {
        // Fields out of order, an unknown field, a repeated scalar: written back as they came.
        let bytes: [UInt8] = [0x18, 0x05, 0x0A, 0x01, 0x61, 0xF8, 0x01, 0x02, 0x18, 0x06]
        let message = try RawMessage(serializedBytes: bytes)
        #expect(message.bytes == bytes)
        #expect(try message.serializedBytes() as [UInt8] == bytes)
        #expect(RawMessage().bytes.isEmpty)
        #expect(throws: (any Error).self) { try RawMessage(serializedBytes: [0x0A, 0x05, 0x61]) }
    }

    @Test func theAuthorityCanBeSet() async throws {
        let server = try await RawHTTP2Server.start(headers: [
            ":status": "200", "content-type": "application/grpc", "grpc-status": "0",
        ])
        let port = server.port  // read while the server listens
        var configuration = GRPCChannel.Configuration()
        configuration.authority = "api.example.test:8443"
        let channel = try GRPCChannel(host: "127.0.0.1", port: port, configuration: configuration)
        _ = try? await channel.unary(
            try Self.method("Get", .unary), request: try Self.raw("x"), responseType: RawMessage.self)
        let defaultChannel = try GRPCChannel(host: "127.0.0.1", port: port)
        _ = try? await defaultChannel.unary(
            try Self.method("Get", .unary), request: try Self.raw("x"), responseType: RawMessage.self)
        await channel.close()
        await defaultChannel.close()
        await server.stop()
        let authorities = server.requestHeaders.withLockedValue { $0.map { $0.first(name: ":authority") } }
        #expect(authorities == ["api.example.test:8443", "127.0.0.1:\(port)"])
    }

    @Test func aServerCertificateIsAcceptedUnverifiedOnlyWhenAskedTo() async throws {
        let certificates = try TLSFixtures.trusted
        try await withHarness(configuration: TLSFixtures.server(certificates)) { harness in
            // Trusting another CA and expecting another name: refused, then accepted unverified.
            var configuration = TLSFixtures.client(trusting: try TLSFixtures.untrusted, serverName: "elsewhere.test")
            let verifying = try GRPCChannel(host: "127.0.0.1", port: harness.port, configuration: configuration)
            let error = await expectRPCError {
                _ = try await withTimeout {
                    try await Grpcsimple_Echo_EchoClient(channel: verifying).get(.with { $0.text = "x" })
                }
            }
            await verifying.close()
            #expect(error?.code == .unavailable)
            configuration.tls?.verifiesServerCertificate = false
            let unverified = try GRPCChannel(host: "127.0.0.1", port: harness.port, configuration: configuration)
            let reply = try await withTimeout {
                try await Grpcsimple_Echo_EchoClient(channel: unverified).get(.with { $0.text = "encrypted" })
            }
            await unverified.close()
            #expect(reply.text == "encrypted")
        }
    }
}
