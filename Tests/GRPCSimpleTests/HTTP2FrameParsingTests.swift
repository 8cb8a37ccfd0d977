// The server transport's frame layer (RFC 9113 §4, §6): the preface, frames split anywhere,
// sizes, padding, and random bytes that must never trap.
import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK
import Testing

@Suite struct HTTP2FrameParsingTests {
    /// Answers every finished request with a canned response.
    private static func answer(_ client: inout HTTP2TestClient, _ events: [HTTP2ServerEvent]) {
        for event in events {
            switch event {
            case .requestHead(let id, _, _, true), .requestData(let id, _, _, true, _):
                client.connection.sendHeaders(streamID: id, headers: [":status": "200"])
                client.connection.sendData(streamID: id, data: ByteBuffer(bytes: [0, 0, 0, 0, 0]))
                client.connection.sendTrailers(streamID: id, trailers: ["grpc-status": "0"])
            default:
                break
            }
        }
    }

    @Test func aRequestSplitAtEveryByteIsAnswered() {
        var writer = HTTP2TestClient()
        var bytes = ByteBuffer(bytes: FrameParser.preface)
        bytes.writeImmutableBuffer(HTTP2TestClient.settings([]))
        bytes.writeImmutableBuffer(writer.headers(stream: 1))
        bytes.writeImmutableBuffer(HTTP2TestClient.data(stream: 1, endStream: true))
        for split in 0...bytes.readableBytes {
            var client = HTTP2TestClient(acknowledge: false)
            client.connection = HTTP2ServerConnection(allocator: ByteBufferAllocator())
            client.connection.start()
            var events = client.feed(bytes.getSlice(at: 0, length: split)!)
            events += client.feed(bytes.getSlice(at: split, length: bytes.readableBytes - split)!)
            Self.answer(&client, events)
            #expect(events.count == 2, "split at \(split)")
            let kinds = client.output().map { [$0.type, $0.header.flags] }
            #expect(
                kinds == [[4, 0], [8, 0], [4, 1], [1, 4], [0, 0], [1, 5]],
                "split at \(split): SETTINGS, WINDOW_UPDATE, SETTINGS ACK, HEADERS, DATA, trailers"
            )
            #expect(!client.connection.isClosed && client.connection.activeStreams == 0)
        }
    }

    @Test func aBadPrefaceIsAProtocolError() {
        var connection = HTTP2ServerConnection(allocator: ByteBufferAllocator())
        connection.start()
        connection.receive(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"))
        #expect(connection.nextEvent()?.connectionErrorCode == .protocolError)
        #expect(connection.isClosed)
    }

    @Test func aPrefaceThatDoesNotStartWithSettingsIsAProtocolError() {
        var connection = HTTP2ServerConnection(allocator: ByteBufferAllocator())
        connection.start()
        var bytes = ByteBuffer(bytes: FrameParser.preface)
        bytes.writeImmutableBuffer(HTTP2TestClient.ping())
        connection.receive(bytes)
        #expect(connection.nextEvent()?.connectionErrorCode == .protocolError)
    }

    @Test func aFrameLargerThanMaxFrameSizeIsAFrameSizeErrorBeforeItsPayloadArrives() {
        var client = HTTP2TestClient()
        var header = ByteBuffer()
        header.writeFrameHeader(length: 16_385, type: FrameType.data, flags: 0, streamID: 1)
        #expect(client.feed(header).connectionError == .frameSizeError)
        #expect(client.output().goAway == .frameSizeError)
    }

    @Test func paddedDataAndHeadersAreUnpaddedAndThePaddingIsFlowControlled() {
        var client = HTTP2TestClient()
        // HEADERS, PADDED: pad length 3, block, 3 bytes of padding.
        let block = client.block(HTTP2TestClient.requestHeaders())
        let headers = HTTP2TestClient.frame(
            FrameType.headers, flags: FrameFlags.endHeaders | FrameFlags.padded, stream: 1, [3] + block + [0, 0, 0])
        #expect(client.feed(headers).first?.isRequestHead == true)
        // DATA, PADDED: pad length 4, 5 bytes of data, 4 of padding.
        let data = HTTP2TestClient.frame(
            FrameType.data, flags: FrameFlags.padded | FrameFlags.endStream, stream: 1, [4, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        let events = client.feed(data)
        guard case .requestData(1, _, let bytes, true, let flowControlled) = events.first else {
            Issue.record("expected the request's DATA, got \(events)")
            return
        }
        #expect(bytes.readableBytes == 5)
        #expect(flowControlled == 10)
    }

    @Test func paddingLongerThanThePayloadIsAProtocolError() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        let data = HTTP2TestClient.frame(FrameType.data, flags: FrameFlags.padded, stream: 1, [9, 0, 0])
        #expect(client.feed(data).connectionError == .protocolError)
    }

    @Test func controlFramesOfTheWrongSizeAreFrameSizeErrors() {
        let frames = [
            HTTP2TestClient.frame(FrameType.ping, stream: 0, [0, 0, 0]),
            HTTP2TestClient.frame(FrameType.rstStream, stream: 1, [0, 0]),
            HTTP2TestClient.frame(FrameType.windowUpdate, stream: 0, [0, 0, 1]),
            HTTP2TestClient.frame(FrameType.settings, stream: 0, [0, 0, 0, 0, 0]),
            HTTP2TestClient.frame(FrameType.settings, flags: FrameFlags.ack, stream: 0, [0, 0, 0, 0, 0, 0]),
        ]
        for frame in frames {
            var client = HTTP2TestClient()
            client.open(stream: 1)
            #expect(client.feed(frame).connectionError == .frameSizeError)
        }
    }

    @Test func framesOnTheWrongStreamAreProtocolErrors() {
        let frames = [
            HTTP2TestClient.frame(FrameType.data, stream: 0, [0]),
            HTTP2TestClient.frame(FrameType.ping, stream: 1, [0, 0, 0, 0, 0, 0, 0, 0]),
            HTTP2TestClient.frame(FrameType.settings, stream: 1),
            HTTP2TestClient.frame(FrameType.rstStream, stream: 0, [0, 0, 0, 8]),
            HTTP2TestClient.frame(FrameType.pushPromise, stream: 1, [0, 0, 0, 2]),
            HTTP2TestClient.frame(FrameType.goAway, stream: 1, [0, 0, 0, 0, 0, 0, 0, 0]),
        ]
        for frame in frames {
            var client = HTTP2TestClient()
            #expect(client.feed(frame).connectionError == .protocolError)
        }
    }

    @Test func unknownFrameTypesAreIgnored() {
        var client = HTTP2TestClient()
        #expect(client.feed(HTTP2TestClient.frame(0xfa, stream: 1, [1, 2, 3])).isEmpty)
        #expect(client.open(stream: 1).first?.isRequestHead == true)
    }

    @Test func randomInputNeverTraps() {
        var rng = XorshiftGenerator(seed: 7)
        var closedByError = 0
        for iteration in 0..<600 {
            var client = HTTP2TestClient(acknowledge: iteration % 2 == 0)
            var bytes = ByteBuffer()
            for _ in 0..<Int.random(in: 1...20, using: &rng) {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0:
                    bytes.writeImmutableBuffer(client.headers(stream: UInt32.random(in: 0...9, using: &rng)))
                case 1:
                    bytes.writeBytes(
                        (0..<Int.random(in: 0...30, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
                default:
                    let length = Int.random(in: 0...24, using: &rng)
                    bytes.writeImmutableBuffer(
                        HTTP2TestClient.frame(
                            UInt8.random(in: 0...11, using: &rng),
                            flags: UInt8.random(in: 0...255, using: &rng),
                            stream: [0, 1, 2, 3, 5, 0x7fff_ffff].randomElement(using: &rng)!,
                            (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                        ))
                }
            }
            while bytes.readableBytes > 0 {
                let piece = bytes.readSlice(length: Int.random(in: 1...max(1, bytes.readableBytes), using: &rng))!
                let events = client.feed(piece)
                if events.connectionError != nil {
                    #expect(client.connection.isClosed)
                    #expect(client.connection.nextEvent() == nil)
                    #expect(client.output().last?.type == FrameType.goAway, "the GOAWAY is the last frame written")
                    closedByError += 1
                    break
                }
            }
            client.connection.receiveEndOfInput()
            #expect(client.connection.isClosed)
        }
        #expect(closedByError > 150)
    }
}
