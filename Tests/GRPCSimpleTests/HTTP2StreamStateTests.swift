// RFC 9113 §5.1's stream states in the server transport: idle, open, half-closed (remote),
// closed by END_STREAM, by the client's RST_STREAM or by ours, and stream IDs that go back.
import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK
import Testing

@Suite struct HTTP2StreamStateTests {
    @Test func dataOnAnIdleStreamIsAConnectionError() {
        var client = HTTP2TestClient()
        #expect(client.feed(HTTP2TestClient.data(stream: 1)).connectionError == .protocolError)
        #expect(client.output().goAway == .protocolError)
    }

    @Test func rstStreamAndWindowUpdateOnAnIdleStreamAreConnectionErrors() {
        for frame in [HTTP2TestClient.rstStream(stream: 3), HTTP2TestClient.windowUpdate(stream: 3, increment: 1)] {
            var client = HTTP2TestClient()
            client.open(stream: 1)
            #expect(client.feed(frame).connectionError == .protocolError)
        }
    }

    @Test func headersOnAnEvenStreamIsAConnectionError() {
        var client = HTTP2TestClient()
        #expect(client.open(stream: 2).connectionError == .protocolError)
    }

    @Test func aNewStreamBelowTheHighestIsAConnectionError() {
        // §5.1.1: stream 3 was skipped when 5 opened, so it is closed for good.
        var client = HTTP2TestClient()
        client.open(stream: 5)
        #expect(client.open(stream: 3).connectionError == .protocolError)
        #expect(client.output().goAway == .protocolError)
    }

    @Test func dataAfterTheClientEndedTheStreamIsStreamClosed() {
        // Half-closed (remote): a stream error STREAM_CLOSED.
        var client = HTTP2TestClient()
        client.open(stream: 1, endStream: true)
        let events = client.feed(HTTP2TestClient.data(stream: 1))
        #expect(events.first?.resetCode == .streamClosed)
        #expect(client.output().reset(of: 1) == .streamClosed)
        #expect(!client.connection.isClosed)
    }

    @Test func dataAfterTheClientResetTheStreamIsStreamClosedAndTheConnectionIsKept() {
        // Issue 16 (h2spec 5.1): any frame but PRIORITY after the client's RST_STREAM.
        var client = HTTP2TestClient()
        client.open(stream: 1)
        #expect(client.feed(HTTP2TestClient.rstStream(stream: 1)).first?.resetCode == .cancel)
        _ = client.output()
        #expect(client.feed(HTTP2TestClient.data(stream: 1)).connectionError == nil)
        #expect(client.output().reset(of: 1) == .streamClosed)
        #expect(client.open(stream: 3).first?.isRequestHead == true, "the connection goes on")
    }

    @Test func headersAfterTheClientResetTheStreamIsStreamClosed() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        _ = client.feed(HTTP2TestClient.rstStream(stream: 1))
        _ = client.output()
        _ = client.feed(client.headers(stream: 1, ["grpc-status": "0"], endStream: true))
        #expect(client.output().reset(of: 1) == .streamClosed)
        #expect(!client.connection.isClosed)
    }

    @Test func dataAfterBothSidesEndedIsAConnectionErrorStreamClosed() {
        // Closed after END_STREAM both ways: "any frames after ... END_STREAM" (§5.1).
        var client = HTTP2TestClient()
        client.open(stream: 1, endStream: true)
        client.connection.sendTrailers(streamID: 1, trailers: ["grpc-status": "0"])
        #expect(client.connection.activeStreams == 0)
        #expect(client.feed(HTTP2TestClient.data(stream: 1)).connectionError == .streamClosed)
    }

    @Test func framesInFlightAfterOurResetAreIgnored() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        client.connection.resetStream(streamID: 1, code: .cancel)
        #expect(client.output().reset(of: 1) == .cancel)
        #expect(client.feed(HTTP2TestClient.data(stream: 1)).isEmpty)
        #expect(client.feed(client.headers(stream: 1, ["grpc-status": "0"], endStream: true)).isEmpty)
        #expect(client.feed(HTTP2TestClient.windowUpdate(stream: 1, increment: 10)).isEmpty)
        #expect(client.feed(HTTP2TestClient.rstStream(stream: 1)).isEmpty)
        #expect(client.output().isEmpty, "nothing answered, nothing closed")
    }

    @Test func windowUpdateAndRstStreamOnAClosedStreamAreIgnored() {
        var client = HTTP2TestClient()
        client.open(stream: 1, endStream: true)
        client.connection.sendTrailers(streamID: 1, trailers: ["grpc-status": "0"])
        _ = client.output()
        #expect(client.feed(HTTP2TestClient.windowUpdate(stream: 1, increment: 10)).isEmpty)
        #expect(client.feed(HTTP2TestClient.rstStream(stream: 1)).isEmpty)
        #expect(client.output().isEmpty)
    }

    @Test func trailersEndTheRequestAndASecondEndIsStreamClosed() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        let events = client.feed(client.headers(stream: 1, ["x-trailer": "1"], endStream: true))
        guard case .requestTrailers(1, _, _) = events.first else {
            Issue.record("expected trailers, got \(events)")
            return
        }
        _ = client.feed(client.headers(stream: 1, ["x-trailer": "2"], endStream: true))
        #expect(client.output().reset(of: 1) == .streamClosed)
    }

    @Test func trailersWithoutEndStreamAreMalformed() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        #expect(client.feed(client.headers(stream: 1, ["x-trailer": "1"])).first?.resetCode == .protocolError)
    }

    @Test func theClientsResetReachesTheApplicationWithItsCode() {
        var client = HTTP2TestClient()
        client.connection.setTag(0, streamID: 1)
        client.open(stream: 1)
        client.connection.setTag(7, streamID: 1)
        let events = client.feed(HTTP2TestClient.rstStream(stream: 1, code: .cancel))
        guard case .streamReset(1, 7, .cancel) = events.first else {
            Issue.record("expected the reset with the stream's tag, got \(events)")
            return
        }
        #expect(client.connection.activeStreams == 0)
    }

    @Test func aResponseToAnEndedRequestClosesTheStream() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        let headersSent = client.connection.sendHeaders(streamID: 1, headers: [":status": "200"])
        #expect(headersSent)
        let secondHeadersSent = client.connection.sendHeaders(streamID: 1, headers: [":status": "200"])
        #expect(!secondHeadersSent, "HEADERS only once")
        let trailersSent = client.connection.sendTrailers(streamID: 1, trailers: ["grpc-status": "0"])
        #expect(trailersSent)
        #expect(client.connection.isActive(streamID: 1), "half-closed (local) until the client ends")
        let dataAfterTrailersSent = client.connection.sendData(streamID: 1, data: ByteBuffer(bytes: [1]))
        #expect(!dataAfterTrailersSent, "no DATA after trailers")
        _ = client.feed(HTTP2TestClient.data(stream: 1, endStream: true))
        #expect(!client.connection.isActive(streamID: 1))
    }
}
