// Header blocks in the server transport: CONTINUATION sequencing and floods (RFC 9113 §6.10),
// PRIORITY accepted and ignored (§5.3.2), and HPACK state kept across refused streams.
import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK
import Testing

@Suite struct HTTP2HeaderBlockTests {
    /// The request head of stream `stream` in a HEADERS frame and `pieces - 1` CONTINUATIONs.
    private static func split(_ client: inout HTTP2TestClient, stream: UInt32, pieces: Int) -> [ByteBuffer] {
        let block = client.block(HTTP2TestClient.requestHeaders())
        let size = (block.count + pieces - 1) / pieces
        var frames: [ByteBuffer] = []
        for (index, start) in stride(from: 0, to: block.count, by: size).enumerated() {
            let chunk = Array(block[start..<min(start + size, block.count)])
            let last = start + size >= block.count
            let flags = last ? FrameFlags.endHeaders : 0
            frames.append(
                HTTP2TestClient.frame(
                    index == 0 ? FrameType.headers : FrameType.continuation, flags: flags, stream: stream, chunk))
        }
        return frames
    }

    @Test func aHeaderBlockInContinuationsIsOneRequest() {
        var client = HTTP2TestClient()
        var events: [HTTP2ServerEvent] = []
        for frame in Self.split(&client, stream: 1, pieces: 4) {
            events += client.feed(frame)
        }
        #expect(events.count == 1 && events.first?.isRequestHead == true)
    }

    @Test func anotherFrameInsideAHeaderBlockIsAProtocolError() {
        var client = HTTP2TestClient()
        let frames = Self.split(&client, stream: 1, pieces: 2)
        _ = client.feed(frames[0])
        #expect(client.feed(HTTP2TestClient.ping()).connectionError == .protocolError)
    }

    @Test func aContinuationOnAnotherStreamIsAProtocolError() {
        var client = HTTP2TestClient()
        let frames = Self.split(&client, stream: 1, pieces: 2)
        _ = client.feed(frames[0])
        var other = frames[1]
        other.setInteger(UInt32(3), at: other.readerIndex + 5)
        #expect(client.feed(other).connectionError == .protocolError)
    }

    @Test func aContinuationWithoutHeadersIsAProtocolError() {
        var client = HTTP2TestClient()
        let frame = HTTP2TestClient.frame(FrameType.continuation, flags: FrameFlags.endHeaders, stream: 1, [0x82])
        #expect(client.feed(frame).connectionError == .protocolError)
    }

    @Test func aContinuationFloodIsCutOffEarly() {
        var client = HTTP2TestClient()
        _ = client.feed(HTTP2TestClient.frame(FrameType.headers, stream: 1, [0x82]))
        var events: [HTTP2ServerEvent] = []
        var sent = 0
        while events.isEmpty, sent < 1000 {
            events = client.feed(HTTP2TestClient.frame(FrameType.continuation, stream: 1))
            sent += 1
        }
        #expect(events.connectionError == .enhanceYourCalm)
        #expect(sent == HTTP2ServerConfiguration().maxContinuationFrames + 1)
    }

    @Test func aHeaderBlockLargerThanTheHeaderListLimitIsCutOff() {
        var configuration = HTTP2ServerConfiguration()
        configuration.maxHeaderListSize = 1000
        var client = HTTP2TestClient(configuration: configuration)
        _ = client.feed(HTTP2TestClient.frame(FrameType.headers, stream: 1, Array(repeating: 0x82, count: 600)))
        let events = client.feed(
            HTTP2TestClient.frame(FrameType.continuation, stream: 1, Array(repeating: 0x82, count: 600)))
        #expect(events.connectionError == .enhanceYourCalm)
    }

    @Test func priorityFramesAreAcceptedAndIgnored() {
        var client = HTTP2TestClient()
        // On an idle stream, an open one and a closed one; exclusive bit and weight ignored.
        #expect(client.feed(HTTP2TestClient.frame(FrameType.priority, stream: 9, [0x80, 0, 0, 1, 200])).isEmpty)
        client.open(stream: 1)
        #expect(client.feed(HTTP2TestClient.frame(FrameType.priority, stream: 1, [0, 0, 0, 3, 16])).isEmpty)
        // HEADERS with the PRIORITY flag: 5 bytes of priority fields before the block.
        let block = client.block(HTTP2TestClient.requestHeaders())
        let headers = HTTP2TestClient.frame(
            FrameType.headers, flags: FrameFlags.endHeaders | FrameFlags.priority, stream: 3, [0, 0, 0, 1, 16] + block)
        #expect(client.feed(headers).first?.isRequestHead == true)
        #expect(client.output().isEmpty)
    }

    @Test func aStreamDependingOnItselfIsAStreamError() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        let events = client.feed(HTTP2TestClient.frame(FrameType.priority, stream: 1, [0, 0, 0, 1, 16]))
        #expect(events.first?.resetCode == .protocolError)
        // In a HEADERS frame: the stream is refused, the connection kept.
        let block = client.block(HTTP2TestClient.requestHeaders())
        let headers = HTTP2TestClient.frame(
            FrameType.headers, flags: FrameFlags.endHeaders | FrameFlags.priority, stream: 3, [0, 0, 0, 3, 16] + block)
        #expect(client.feed(headers).isEmpty)
        #expect(client.output().reset(of: 3) == .protocolError)
        #expect(client.open(stream: 5).first?.isRequestHead == true)
    }

    @Test func aPriorityFrameOfTheWrongLengthIsAStreamErrorFrameSizeError() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        let events = client.feed(HTTP2TestClient.frame(FrameType.priority, stream: 1, [0, 0, 0, 3]))
        #expect(events.first?.resetCode == .frameSizeError)
    }

    @Test func refusedStreamsStillUpdateTheHPACKTable() {
        // A refused request's block is decoded all the same, so the next one (which refers to
        // entries the encoder added) decodes right.
        var configuration = HTTP2ServerConfiguration()
        configuration.maxConcurrentStreams = 1
        var client = HTTP2TestClient(configuration: configuration)
        client.open(stream: 1, extra: [("x-custom", "first")])
        client.open(stream: 3, extra: [("x-custom", "first")])
        #expect(client.output().reset(of: 3) == .refusedStream)
        client.connection.resetStream(streamID: 1, code: .cancel)
        let events = client.open(stream: 5, extra: [("x-custom", "first")])
        guard case .requestHead(5, _, let headers, _) = events.first else {
            Issue.record("expected stream 5's head, got \(events)")
            return
        }
        #expect(headers.first(name: "x-custom") == "first")
    }

    @Test func anUndecodableHeaderBlockIsACompressionError() {
        var client = HTTP2TestClient()
        let frame = HTTP2TestClient.frame(
            FrameType.headers, flags: FrameFlags.endHeaders, stream: 1, [0xff, 0xff, 0xff, 0xff])
        #expect(client.feed(frame).connectionError == .compressionError)
    }
}
