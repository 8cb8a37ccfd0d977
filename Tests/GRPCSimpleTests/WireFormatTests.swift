import NIOCore
import SwiftProtobuf
import Testing

@testable import GRPCSimple

/// The pieces of the wire format, one by one.
@Suite struct WireFormatTests {
    static func framed(_ payloads: [[UInt8]]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for payload in payloads {
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(payload.count))
            buffer.writeBytes(payload)
        }
        return buffer
    }

    @Test func deframerReadsSeveralMessagesFromOneFrame() throws {
        var deframer = EnvelopeReader(maximumMessageSize: 100)
        deframer.append(Self.framed([[1, 2, 3], [], [4]]))
        #expect(try deframer.next().map { Array($0.readableBytesView) } == [1, 2, 3])
        #expect(try deframer.next().map { Array($0.readableBytesView) } == [])
        #expect(try deframer.next().map { Array($0.readableBytesView) } == [4])
        #expect(try deframer.next() == nil)
        #expect(deframer.bufferedBytes == 0)
    }

    @Test func deframerReassemblesAMessageSpanningFrames() throws {
        var deframer = EnvelopeReader(maximumMessageSize: 100)
        let whole = Self.framed([Array(0..<50)])
        // Split at every position, including inside the prefix.
        for split in 1..<whole.readableBytes {
            var first = whole
            let head = first.readSlice(length: split)!
            deframer.append(head)
            #expect(try deframer.next() == nil)
            deframer.append(first)
            #expect(try deframer.next().map { Array($0.readableBytesView) } == Array(0..<50))
            #expect(deframer.bufferedBytes == 0)
        }
    }

    /// A large message in 16 KiB frames goes into one buffer of its announced length, set
    /// aside once a sixteenth of it is here rather than grown by doubling (which copies
    /// what came so far at every step), and comes out whole.
    @Test func deframerReservesALargeMessageOnceEnoughOfItIsHere() throws {
        let payload = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let announced = Envelope.prefixLength + payload.count
        var deframer = EnvelopeReader(maximumMessageSize: 4 << 20)
        var whole = Self.framed([payload])
        var capacities: [Int] = []
        while whole.readableBytes > 0 {
            deframer.append(whole.readSlice(length: min(16 * 1024, whole.readableBytes))!)
            capacities.append(deframer.bufferedCapacity)
            if whole.readableBytes > 0 { #expect(try deframer.next() == nil) }
        }
        #expect(try deframer.next().map { Array($0.readableBytesView) } == payload)
        // Doubling up to 64 KiB, then at once the announced length (NIO rounds it up to a
        // power of two), kept to the end: never the 128 KiB, 256 KiB and 512 KiB of doubling.
        #expect(capacities.allSatisfy { $0 <= 64 * 1024 || $0 >= announced }, "\(capacities.prefix(8))")
        let reservedAt = capacities.firstIndex { $0 >= announced }
        #expect(reservedAt.map { ($0 + 1) * 16 * 1024 * EnvelopeReader.reservationRatio <= 2 * announced } == true)
    }

    /// A prefix that announces a large message and a few bytes make the server hold no more
    /// than those bytes.
    @Test func aLyingPrefixReservesNothing() throws {
        var deframer = EnvelopeReader(maximumMessageSize: 4 << 20)
        deframer.append(ByteBuffer(bytes: [0, 0, 0x40, 0, 0, 1, 2, 3]))  // announces 4 MiB
        deframer.append(ByteBuffer(bytes: [4, 5, 6, 7]))
        #expect(try deframer.next() == nil)
        #expect(deframer.bufferedCapacity < 1024)
    }

    @Test func deframerRejectsTooLargeBeforeBuffering() {
        var deframer = EnvelopeReader(maximumMessageSize: 10)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32.max)  // claims 4 GiB; only the prefix arrives
        deframer.append(buffer)
        #expect(throws: EnvelopeReader.Failure.messageTooLarge(length: Int(UInt32.max), limit: 10)) {
            try deframer.next()
        }
    }

    @Test func deframerRejectsCompressedFlagWithoutEncodingAndBadFlags() {
        var compressed = EnvelopeReader(maximumMessageSize: 10)
        compressed.append(ByteBuffer(bytes: [1, 0, 0, 0, 1, 7]))
        #expect(throws: EnvelopeReader.Failure.compressedWithoutEncoding) { try compressed.next() }
        #expect(EnvelopeReader.Failure.compressedWithoutEncoding.status.code == .internal)

        var invalid = EnvelopeReader(maximumMessageSize: 10)
        invalid.append(ByteBuffer(bytes: [2, 0, 0, 0, 0]))
        #expect(throws: EnvelopeReader.Failure.invalidFlags(2)) { try invalid.next() }
    }

    @Test func timeoutParsesEveryUnit() {
        #expect(GRPCTimeout.parse("1H") == 3_600_000_000_000)
        #expect(GRPCTimeout.parse("2M") == 120_000_000_000)
        #expect(GRPCTimeout.parse("3S") == 3_000_000_000)
        #expect(GRPCTimeout.parse("4m") == 4_000_000)
        #expect(GRPCTimeout.parse("5u") == 5_000)
        #expect(GRPCTimeout.parse("6n") == 6)
        #expect(GRPCTimeout.parse("99999999S") == 99_999_999_000_000_000)
        for bad in ["", "S", "1", "123456789S", "1x", "-1S", "1.5S", " 1S"] {
            #expect(GRPCTimeout.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func timeoutFormatsWithinEightDigitsRoundingUp() {
        #expect(GRPCTimeout.format(nanoseconds: 0) == "0n")
        #expect(GRPCTimeout.format(nanoseconds: 99_999_999) == "99999999n")
        #expect(GRPCTimeout.format(nanoseconds: 100_000_000) == "100000u")
        #expect(GRPCTimeout.format(nanoseconds: 100_000_001) == "100001u")
        #expect(GRPCTimeout.format(nanoseconds: 3_600_000_000_000_000) == "3600000S")
        #expect(GRPCTimeout.format(nanoseconds: Int64.max) == "2562048H")
        for value: Int64 in [1, 999, 1_000_001, 123_456_789_012, 9_000_000_000_000_000] {
            let formatted = GRPCTimeout.format(nanoseconds: value)
            #expect(formatted.count <= 9)
            #expect((GRPCTimeout.parse(formatted) ?? 0) >= value)
        }
    }

    @Test func percentEncodingRoundTrips() {
        #expect(PercentEncoding.encode("plain text") == "plain text")
        #expect(PercentEncoding.encode("100%") == "100%25")
        #expect(PercentEncoding.encode("a\nb") == "a%0Ab")
        #expect(PercentEncoding.encode("ü") == "%C3%BC")
        for text in ["", "\t\u{1F600} ünïcödé %% \0", String(repeating: "x", count: 1000)] {
            #expect(PercentEncoding.decode(PercentEncoding.encode(text)) == text)
        }
        // Lenient decoding: a broken escape is kept as it is.
        #expect(PercentEncoding.decode("50%z") == "50%z")
        #expect(PercentEncoding.decode("%4") == "%4")
    }

    @Test func base64WithAndWithoutPadding() {
        for length in 0..<10 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 200) }
            let encoded = Base64.encode(bytes)
            #expect(!encoded.contains("="))
            #expect(Base64.decode(Substring(encoded)) == bytes)
            let padded = encoded + String(repeating: "=", count: (4 - encoded.count % 4) % 4)
            #expect(Base64.decode(Substring(padded)) == bytes)
        }
        #expect(Base64.decode("a") == nil)
        #expect(Base64.decode("ab$d") == nil)
        #expect(Base64.decode("ab=c") == nil)
    }

    @Test func metadataKeepsOrderRepeatsAndBinary() {
        var metadata: Metadata = ["Key": "1"]
        metadata.add("key", "2")
        metadata.add("data-bin", binary: [0, 1])
        #expect(metadata.values("KEY") == [.string("1"), .string("2")])
        #expect(metadata["key"] == "1")
        #expect(metadata.binary("data-bin") == [0, 1])
        metadata["key"] = "3"
        #expect(metadata.values("key") == [.string("3")])
        metadata.remove("key")
        #expect(metadata.count == 1)
        #expect(Metadata.isValidKey("x-trace_id.v2"))
        #expect(!Metadata.isValidKey("Upper"))
        #expect(!Metadata.isValidKey("grpc-timeout"))
        #expect(!Metadata.isValidKey(":path"))
        #expect(!Metadata.isValidKey(""))
    }

    @Test func reservedHeadersAreNeverMetadata() {
        let reserved = [
            "content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "grpc-status",
            "grpc-message", "content-length", "connection", "host", "transfer-encoding", "upgrade",
            "keep-alive", "proxy-connection", ":path", ":authority", ":x",
        ]
        for name in reserved {
            #expect(Metadata.isReserved(name), "\(name)")
        }
        // Same lengths as reserved names, but custom metadata.
        for name in ["tf", "hosts", "user-agent", "grpc-statuz", "content-typf", "grpc-encodinh", "x", "authorization"]
        {
            #expect(!Metadata.isReserved(name), "\(name)")
        }
    }

    @Test func statusCodesPrintByNameAndMapHTTPStatus() {
        #expect(StatusCode.deadlineExceeded.description == "DEADLINE_EXCEEDED")
        #expect(StatusCode.internal.name == "INTERNAL")
        #expect(StatusCode(wireValue: 99) == .unknown)
        #expect(StatusCode(httpStatus: 400) == .internal)
        #expect(StatusCode(httpStatus: 401) == .unauthenticated)
        #expect(StatusCode(httpStatus: 403) == .permissionDenied)
        #expect(StatusCode(httpStatus: 404) == .unimplemented)
        #expect(StatusCode(httpStatus: 429) == .unavailable)
        #expect(StatusCode(httpStatus: 502) == .unavailable)
        #expect(StatusCode(httpStatus: 503) == .unavailable)
        #expect(StatusCode(httpStatus: 504) == .unavailable)
        #expect(StatusCode(httpStatus: 500) == .unknown)
        #expect(RPCError(.unavailable, "gone").description == "UNAVAILABLE: gone")
    }

    @Test func contentTypes() {
        #expect(GRPCHeaders.isGRPCContentType("application/grpc"))
        #expect(GRPCHeaders.isGRPCContentType("application/grpc+proto"))
        #expect(GRPCHeaders.isGRPCContentType("application/grpc;charset=utf-8"))
        #expect(!GRPCHeaders.isGRPCContentType("application/grpcx"))
        #expect(!GRPCHeaders.isGRPCContentType("application/json"))
        #expect(!GRPCHeaders.isGRPCContentType(nil))
        #expect(GRPCHeaders.isGRPCContentType("Application/GRPC+proto"))
        #expect(!GRPCHeaders.isGRPCContentType("application\u{0F}grpc"))
        #expect(!GRPCHeaders.isGRPCContentType("application/grp"))
        #expect(!GRPCHeaders.isGRPCContentType(""))
    }

    @Test func protobufCodecFramesWithoutCopying() throws {
        var message = Google_Protobuf_StringValue_ForTests()
        message.value = "hello"
        let framed = try EnvelopeWriter.write(message, allocator: ByteBufferAllocator())
        #expect(framed.getInteger(at: 0, as: UInt8.self) == 0)
        #expect(framed.getInteger(at: 1, as: UInt32.self) == UInt32(framed.readableBytes - 5))
        var deframer = EnvelopeReader(maximumMessageSize: 100)
        deframer.append(framed)
        let payload = try #require(try deframer.next())
        let decoded = try ProtobufCodec.decode(Google_Protobuf_StringValue_ForTests.self, from: payload, what: "test")
        #expect(decoded.value == "hello")
    }
}

typealias Google_Protobuf_StringValue_ForTests = SwiftProtobuf.Google_Protobuf_StringValue
