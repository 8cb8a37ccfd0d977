// What a hostile client can make the server transport do, bounded: streams past
// MAX_CONCURRENT_STREAMS refused with the connection kept (RFC 9113 §5.1.2), rapid reset,
// PING / SETTINGS / PRIORITY floods, stream-error floods; and the graceful GOAWAY.
import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK
import Testing

@Suite struct HTTP2ConnectionLimitsTests {
    @Test func streamsPastTheLimitAreRefusedAndTheConnectionIsKept() {
        // Issue 16 (§5.1.2): RST_STREAM REFUSED_STREAM, not GOAWAY.
        var configuration = HTTP2ServerConfiguration()
        configuration.maxConcurrentStreams = 3
        var client = HTTP2TestClient(configuration: configuration)
        for stream in [UInt32(1), 3, 5] {
            #expect(client.open(stream: stream).first?.isRequestHead == true)
        }
        #expect(client.open(stream: 7).isEmpty)
        let frames = client.output()
        #expect(frames.reset(of: 7) == .refusedStream)
        #expect(frames.goAway == nil)
        #expect(client.connection.activeStreams == 3)
        // DATA the client sent on the refused stream before it saw the RST_STREAM is ignored.
        #expect(client.feed(HTTP2TestClient.data(stream: 7, endStream: true)).isEmpty)
        #expect(client.output().isEmpty)
        // Once a stream ends, a new one is served.
        client.connection.resetStream(streamID: 1, code: .cancel)
        #expect(client.open(stream: 9).first?.isRequestHead == true)
    }

    @Test func rapidResetEndsTheConnection() {
        var client = HTTP2TestClient()
        var events: [HTTP2ServerEvent] = []
        var stream: UInt32 = 1
        while events.connectionError == nil, stream < 1000 {
            client.open(stream: stream)
            events = client.feed(HTTP2TestClient.rstStream(stream: stream))
            stream += 2
        }
        #expect(events.connectionError == .enhanceYourCalm)
        #expect(stream / 2 == UInt32(HTTP2ServerConfiguration().maxResetsPerWindow + 1))
        #expect(client.output().goAway == .enhanceYourCalm)
    }

    @Test func resetsSpreadOverTimeAreAllowed() {
        var configuration = HTTP2ServerConfiguration()
        configuration.maxResetsPerWindow = 10
        var client = HTTP2TestClient(configuration: configuration)
        var stream: UInt32 = 1
        for _ in 0..<5 {
            for _ in 0..<10 {
                client.open(stream: stream)
                #expect(client.feed(HTTP2TestClient.rstStream(stream: stream)).connectionError == nil)
                stream += 2
            }
            client.now = client.now + configuration.rateLimitWindow
        }
        #expect(!client.connection.isClosed)
    }

    @Test func pingSettingsAndPriorityFloodsEndTheConnection() {
        let floods: [ByteBuffer] = [
            HTTP2TestClient.ping(),
            HTTP2TestClient.settings([]),
            HTTP2TestClient.frame(FrameType.priority, stream: 3, [0, 0, 0, 1, 16]),
        ]
        for frame in floods {
            var client = HTTP2TestClient()
            var events: [HTTP2ServerEvent] = []
            var sent = 0
            while events.connectionError == nil, sent < 1000 {
                events = client.feed(frame)
                sent += 1
            }
            #expect(events.connectionError == .enhanceYourCalm)
            // The handshake's SETTINGS counts too.
            #expect(sent <= HTTP2ServerConfiguration().maxControlFramesPerWindow + 1)
        }
    }

    @Test func pingsThatEachFollowAResponseAreNotAFlood() {
        // grpc-go's bandwidth probe: a PING after each DATA the server writes, far more
        // than the control-frame limit; the same PINGs with nothing written between them
        // are a flood.
        var client = HTTP2TestClient()
        client.open(stream: 1)
        client.connection.sendHeaders(streamID: 1, headers: [":status": "200"])
        var events: [HTTP2ServerEvent] = []
        for round in 0..<1000 where events.connectionError == nil {
            client.connection.sendData(streamID: 1, data: ByteBuffer(bytes: [0, 0, 0, 0, 0]))
            events = client.feed(HTTP2TestClient.ping(UInt64(round)))
            _ = client.connection.takeOutput()
        }
        let closed = client.connection.isClosed
        #expect(events.connectionError == nil)
        #expect(!closed)
        var sent = 0
        while events.connectionError == nil, sent < 1000 {
            events = client.feed(HTTP2TestClient.ping())
            sent += 1
        }
        #expect(events.connectionError == .enhanceYourCalm)
        #expect(sent <= HTTP2ServerConfiguration().maxControlFramesPerWindow + 1)
    }

    @Test func tooManyStreamErrorsEndTheConnection() {
        var configuration = HTTP2ServerConfiguration()
        configuration.maxStreamErrors = 5
        var client = HTTP2TestClient(configuration: configuration)
        var events: [HTTP2ServerEvent] = []
        var stream: UInt32 = 1
        while events.connectionError == nil, stream < 100 {
            client.open(stream: stream)
            events = client.feed(HTTP2TestClient.windowUpdate(stream: stream, increment: 0))
            stream += 2
        }
        #expect(events.connectionError == .enhanceYourCalm)
        #expect(stream / 2 == 6)
    }

    @Test func drainingServesOpenStreamsAndRefusesNewOnes() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        client.open(stream: 3)
        client.connection.startDraining()
        let goAway = client.output().first
        #expect(goAway?.type == FrameType.goAway && goAway?.errorCode == .noError && goAway?.firstWord == 3)
        #expect(client.connection.isDraining)
        #expect(client.open(stream: 5).isEmpty)
        #expect(client.output().reset(of: 5) == .refusedStream)
        // Streams 1 and 3 go on to the end.
        #expect(client.feed(HTTP2TestClient.data(stream: 1, endStream: true)).count == 1)
        client.connection.sendTrailers(streamID: 1, trailers: ["grpc-status": "0"])
        client.connection.resetStream(streamID: 3, code: .cancel)
        #expect(client.connection.activeStreams == 0)
        #expect(!client.connection.isClosed)
    }

    @Test func aSecondGoAwayMayOnlyLowerTheLastStream() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        client.connection.startDraining(lastStreamID: 0x7fff_ffff)
        client.connection.startDraining()
        client.connection.startDraining(lastStreamID: 0x7fff_ffff)
        let goAways = client.output().filter { $0.type == FrameType.goAway }.map(\.firstWord)
        #expect(goAways == [0x7fff_ffff, 1])
    }

    @Test func theClientsGoAwayReachesTheApplication() {
        var client = HTTP2TestClient()
        let frame = HTTP2TestClient.frame(
            FrameType.goAway, stream: 0, HTTP2TestClient.word(0) + HTTP2TestClient.word(0))
        guard case .goAway(.noError, 0) = client.feed(frame).first else {
            Issue.record("expected the GOAWAY")
            return
        }
        #expect(client.connection.peerWentAway)
    }

    @Test func abortWritesGoAwayWithDebugData() {
        var client = HTTP2TestClient()
        client.connection.abort(code: .enhanceYourCalm, debugData: ByteBuffer(string: "too_many_pings"))
        let goAway = client.output().first
        #expect(goAway?.errorCode == .enhanceYourCalm)
        #expect(goAway?.payload.getString(at: 8, length: 14) == "too_many_pings")
        #expect(client.connection.isClosed)
        #expect(client.feed(HTTP2TestClient.ping()).isEmpty, "nothing is read after GOAWAY")
    }

    @Test func theEndOfInputInsideAFrameIsAProtocolError() {
        var client = HTTP2TestClient()
        _ = client.feed(ByteBuffer(bytes: [0, 0, 8]))
        client.connection.receiveEndOfInput()
        #expect(client.output().goAway == .protocolError)
    }
}
