import NIOCore
import TestServices
import Testing

@testable import GRPCSimple

/// Message compression (grpc/grpc `doc/compression.md`): gzip and deflate both ways,
/// per call and per message, and the failures the spec names.
@Suite struct CompressionTests {
    static let get = "/grpcsimple.echo.Echo/Get"

    /// A framed, compressed EchoRequest(text).
    static func compressedRequest(_ text: String, _ algorithm: CompressionAlgorithm) throws -> [UInt8] {
        var payload = ByteBuffer()
        payload.writeBytes([0x0A, UInt8(text.utf8.count)] + Array(text.utf8))
        let framed = EnvelopeWriter.envelope(
            try algorithm.compress(payload, allocator: ByteBufferAllocator()),
            flags: .compressed,
            allocator: ByteBufferAllocator()
        )
        return Array(framed.readableBytesView)
    }

    @Test(arguments: [CompressionAlgorithm.gzip, .deflate])
    func compressedRequestsAndResponsesBetweenOurClientAndServer(_ algorithm: CompressionAlgorithm) async throws {
        try await withHarness { harness in
            let options = CallOptions(metadata: ["response-compression": algorithm.name], compression: algorithm)
            let text = String(repeating: "compress me ", count: 200)
            let reply = try await harness.echo.get(.with { $0.text = text }, options: options)
            #expect(reply.text == text)

            // Client streaming, every other message sent uncompressed.
            let collected = try await harness.echo.collect(options: options) { requests in
                for index in 0..<6 {
                    try await requests.write(.with { $0.text = "m\(index)" }, compress: index % 2 == 0)
                }
            }
            #expect(collected.text == "m0 m1 m2 m3 m4 m5")

            // Server streaming with compressed responses.
            var words: [String] = []
            for try await response in harness.echo.expand(.with { $0.text = "a b c" }, options: options) {
                words.append(response.text)
            }
            #expect(words == ["a", "b", "c"])
        }
    }

    @Test(arguments: [CompressionAlgorithm.gzip, .deflate])
    func theWireCarriesCompressedMessagesBothWays(_ algorithm: CompressionAlgorithm) async throws {
        try await withHarness { harness in
            let raw = try await RawHTTP2Client.connect(port: harness.port)
            defer { Task { await raw.close() } }
            let headers = RawHTTP2Client.requestHeaders(
                path: Self.get,
                [
                    ("grpc-encoding", algorithm.name), ("response-compression", algorithm.name),
                ])
            try await raw.sendHeaders(stream: 1, headers)
            try await raw.sendData(stream: 1, try Self.compressedRequest("squeezed", algorithm), endStream: true)
            let response = try await raw.response(stream: 1)
            let head = try #require(response.headerBlocks.first)
            #expect(head.first(name: "grpc-encoding") == algorithm.name)
            #expect(head.first(name: "grpc-accept-encoding") == "gzip,deflate,identity")
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "0")
            let data = response.dataBytes
            #expect(data.first == 1, "the response message has the compressed flag")
            var deframer = EnvelopeReader(maximumMessageSize: 1 << 20)
            deframer.encoding = algorithm
            deframer.append(ByteBuffer(bytes: data))
            let message = try #require(try deframer.next())
            #expect(Array(message.readableBytesView) == [0x0A, 8] + Array("squeezed".utf8))
        }
    }

    /// A message that inflates past the limit fails with RESOURCE_EXHAUSTED, and is not
    /// inflated in full on the way.
    @Test func aZipBombIsResourceExhausted() async throws {
        var configuration = Server.Configuration()
        configuration.maximumReceiveMessageSize = 64 * 1024
        try await withHarness(configuration: configuration) { harness in
            let raw = try await RawHTTP2Client.connect(port: harness.port)
            defer { Task { await raw.close() } }
            // 16 MiB of zeros: a few KiB on the wire.
            var zeros = ByteBuffer()
            zeros.writeRepeatingByte(0, count: 16 << 20)
            let bomb = EnvelopeWriter.envelope(
                try CompressionAlgorithm.gzip.compress(zeros, allocator: ByteBufferAllocator()),
                flags: .compressed,
                allocator: ByteBufferAllocator()
            )
            #expect(bomb.readableBytes < 64 * 1024)
            try await raw.sendHeaders(
                stream: 1, RawHTTP2Client.requestHeaders(path: Self.get, [("grpc-encoding", "gzip")]))
            try await raw.sendData(stream: 1, Array(bomb.readableBytesView), endStream: true)
            let trailers = try #require(try await raw.response(stream: 1).headerBlocks.last)
            #expect(trailers.first(name: "grpc-status") == "8")
            #expect(trailers.first(name: "grpc-message")?.contains("inflates past the max") == true)
        }
    }

    @Test func corruptCompressedDataIsInternal() async throws {
        try await withHarness { harness in
            let raw = try await RawHTTP2Client.connect(port: harness.port)
            defer { Task { await raw.close() } }
            try await raw.sendHeaders(
                stream: 1, RawHTTP2Client.requestHeaders(path: Self.get, [("grpc-encoding", "gzip")]))
            try await raw.sendData(
                stream: 1, RawHTTP2Client.message([1, 2, 3, 4, 5, 6], compressed: true), endStream: true)
            let trailers = try #require(try await raw.response(stream: 1).headerBlocks.last)
            #expect(trailers.first(name: "grpc-status") == "13")
            #expect(trailers.first(name: "grpc-message")?.contains("not valid gzip") == true)
        }
    }

    @Test func aStreamingClientCanTurnCompressionOffPerMessageAndTheServerStillReads() async throws {
        try await withHarness { harness in
            let updates = try await harness.echo.update(options: CallOptions(compression: .gzip)) {
                requests, responses in
                var texts: [String] = []
                var iterator = responses.makeAsyncIterator()
                for (index, text) in ["x", "y", "z"].enumerated() {
                    try await requests.write(.with { $0.text = text }, compress: index != 1)
                    if let reply = try await iterator.next() { texts.append(reply.text) }
                }
                requests.finish()
                return texts
            }
            #expect(updates == ["x", "y", "z"])
        }
    }
}

extension CompressionTests {
    /// The server never compresses with an algorithm the client's grpc-accept-encoding
    /// leaves out: it answers uncompressed instead.
    @Test func responsesAreNotCompressedWithAnAlgorithmTheClientDoesNotAccept() async throws {
        try await withHarness { harness in
            let raw = try await RawHTTP2Client.connect(port: harness.port)
            defer { Task { await raw.close() } }
            let headers = RawHTTP2Client.requestHeaders(
                path: Self.get,
                [
                    ("grpc-accept-encoding", "identity, deflate"), ("response-compression", "gzip"),
                ])
            try await raw.sendHeaders(stream: 1, headers)
            try await raw.sendData(stream: 1, RawHTTP2Client.message([0x0A, 2] + Array("hi".utf8)), endStream: true)
            let response = try await raw.response(stream: 1)
            #expect(response.headerBlocks.first?.first(name: "grpc-encoding") == nil)
            #expect(response.dataBytes == RawHTTP2Client.message([0x0A, 2] + Array("hi".utf8)))
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "0")
        }
    }

    @Test func acceptEncodingIsParsedLeniently() {
        #expect(CompressionAlgorithm.parseAcceptEncoding("gzip, deflate") == [.identity, .gzip, .deflate])
        #expect(CompressionAlgorithm.parseAcceptEncoding("snappy,gzip") == [.identity, .gzip])
        #expect(CompressionAlgorithm.parseAcceptEncoding("") == [.identity])
    }
}
