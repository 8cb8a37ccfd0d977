// The server's HTTP/1.1 transport serving requests one at a time: pipelining, keep-alive,
// back-pressure, the client closing its side, draining, resets.
import GRPCSimpleHTTP1
import GRPCSimpleHTTP2
import NIOCore
import Testing

@Suite struct HTTP1ConnectionTests {
    @Test func aPipelinedRequestIsReadOnlyOnceTheResponseIsComplete() throws {
        var client = HTTP1TestClient()
        let events = client.feed(
            "POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nabGET /two HTTP/1.1\r\nHost: h\r\n\r\n"
        )
        #expect(events.heads.map(\.path) == ["/one"])
        #expect(events.body == "ab")
        #expect(client.connection.bufferedInputBytes > 0)
        #expect(!client.connection.hasPartialRequest)
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "200"]) == true)
        #expect(client.events().isEmpty)  // the response is not complete yet
        #expect(client.connection.sendTrailers(streamID: 1, trailers: ["grpc-status": "0"]) == true)
        let next = client.events()
        #expect(next.heads.map(\.path) == ["/two"])
        #expect(next.heads.first?.streamID == 3)
        #expect(client.connection.highestStreamID == 3)
    }

    @Test func aPipelinedRequestWaitsForTheCurrentBodyToo() {
        var client = HTTP1TestClient()
        #expect(client.feed("POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab").body == "ab")
        // Answered before the body is in: the rest of the body is read and dropped.
        #expect(client.respond(to: 1) == true)
        #expect(client.connection.activeStreams == 1)
        #expect(client.connection.hasPartialRequest)
        let events = client.feed("cdGET /two HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(events.count == 1)
        #expect(events.heads.map(\.path) == ["/two"])
        #expect(!client.connection.isClosed)
    }

    @Test func aChunkedBodyLeftUnreadIsDroppedBeforeTheNextRequest() {
        var client = HTTP1TestClient()
        _ = client.feed("POST /one HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        #expect(client.respond(to: 1) == true)
        let events = client.feed("2\r\nde\r\n0\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(events.heads.map(\.path) == ["/two"])
        #expect(events.body.isEmpty)
    }

    @Test func tooLargeARemainderClosesInsteadOfBeingDropped() {
        var configuration = HTTP1ServerConfiguration()
        configuration.maxDiscardedBodyBytes = 10
        var client = HTTP1TestClient(configuration: configuration)
        _ = client.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nab")
        #expect(client.respond(to: 1) == true)
        #expect(client.connection.isClosed)
        var chunked = HTTP1TestClient(configuration: configuration)
        _ = chunked.feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(chunked.respond(to: 1) == true)
        #expect(!chunked.connection.isClosed)
        #expect(chunked.feed("5\r\n12345\r\n5\r\n12345\r\n5\r\n12345\r\n").isEmpty)
        #expect(chunked.connection.isClosed)
    }

    @Test func keepAliveServesRequestAfterRequest() {
        var client = HTTP1TestClient()
        for index in 0..<5 {
            let events = client.feed("POST /\(index) HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n\(index)")
            #expect(events.heads.map(\.streamID) == [UInt32(2 * index + 1)])
            #expect(events.body == "\(index)")
            #expect(client.respond(to: UInt32(2 * index + 1), body: "r\(index)") == true)
            #expect(
                client.output()
                    == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nr\(index)\r\n0\r\ngrpc-status: 0\r\n\r\n"
            )
            #expect(client.connection.activeStreams == 0)
        }
        #expect(!client.connection.isClosed)
    }

    @Test func connectionCloseFromTheClientClosesAfterTheResponse() {
        var client = HTTP1TestClient()
        _ = client.feed("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(client.respond(to: 1, body: "") == true)
        #expect(client.output().hasPrefix("HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n"))
        #expect(client.connection.isClosed)
        #expect(client.events().isEmpty)
    }

    @Test func bodyDeliveryPausesAtTheWindowAndResumesAtDataConsumed() {
        var configuration = HTTP1ServerConfiguration()
        configuration.receiveWindow = 16
        var client = HTTP1TestClient(configuration: configuration)
        let body = String(repeating: "x", count: 40)
        let events = client.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 40\r\n\r\n\(body)")
        #expect(events.body.count == 16)
        #expect(client.connection.bufferedInputBytes == 24)
        #expect(!client.connection.hasPartialRequest)  // held back by us, not the client
        #expect(client.events().isEmpty)
        client.connection.dataConsumed(streamID: 7, bytes: 16)  // another stream: ignored
        #expect(client.events().isEmpty)
        client.connection.dataConsumed(streamID: 1, bytes: 10)
        let more = client.events()
        #expect(more.body.count == 10)
        #expect(more.bodyEnds == 0)
        client.connection.dataConsumed(streamID: 1, bytes: 16)
        let rest = client.events()
        #expect(rest.body.count == 14)
        #expect(rest.bodyEnds == 1)
        #expect(client.connection.bufferedInputBytes == 0)
    }

    @Test func aChunkedBodyPausesAtTheWindowToo() {
        var configuration = HTTP1ServerConfiguration()
        configuration.receiveWindow = 4
        var client = HTTP1TestClient(configuration: configuration)
        let events = client.feed(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n")
        #expect(events.body == "abcd")
        client.connection.dataConsumed(streamID: 1, bytes: 4)
        let rest = client.events()
        #expect(rest.body == "ef")
        #expect(rest.bodyEnds == 1)
    }

    @Test func theClientClosingInsideABodyResetsTheRequest() {
        var client = HTTP1TestClient()
        _ = client.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        client.connection.receiveEndOfInput()
        let events = client.events()
        #expect(events.count == 1)
        guard case .streamReset(let streamID, _, let code) = events.first else {
            Issue.record("expected a stream reset, got \(events)")
            return
        }
        #expect(streamID == 1 && code == .cancel)
        #expect(client.connection.isClosed)
        #expect(client.events().isEmpty)
    }

    @Test func theClientClosingWhileTheBodyIsHeldBackResetsOnlyIfTheBodyIsShort() {
        var configuration = HTTP1ServerConfiguration()
        configuration.receiveWindow = 2
        var client = HTTP1TestClient(configuration: configuration)
        _ = client.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd")
        client.connection.receiveEndOfInput()
        #expect(!client.connection.isClosed)
        client.connection.dataConsumed(streamID: 1, bytes: 2)
        let events = client.events()
        #expect(events.body == "cd" && events.bodyEnds == 1)
        #expect(!client.connection.isClosed)
        #expect(client.respond(to: 1) == true)
        #expect(client.output().contains("connection: close"))
        #expect(client.connection.isClosed)

        var short = HTTP1TestClient(configuration: configuration)
        _ = short.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcd")
        short.connection.receiveEndOfInput()
        short.connection.dataConsumed(streamID: 1, bytes: 2)
        let cut = short.events()
        #expect(cut.body == "cd")
        #expect(cut.last?.isStreamReset == true)
        #expect(short.connection.isClosed)
    }

    @Test func theClientClosingInsideAHeadJustCloses() {
        var client = HTTP1TestClient()
        #expect(client.feed("GET / HTTP/1.1\r\nHo").isEmpty)
        client.connection.receiveEndOfInput()
        #expect(client.connection.isClosed)
        #expect(client.events().isEmpty)
        #expect(client.output().isEmpty)
    }

    @Test func theClientClosingAfterItsRequestStillGetsTheResponse() {
        var client = HTTP1TestClient()
        #expect(client.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n").heads.count == 1)
        client.connection.receiveEndOfInput()
        #expect(!client.connection.isClosed)
        #expect(client.events().isEmpty)
        #expect(client.respond(to: 1) == true)
        #expect(client.output().contains("\r\nconnection: close\r\n"))
        #expect(client.connection.isClosed)
    }

    @Test func drainingLetsTheCurrentResponseFinishWithConnectionClose() {
        var client = HTTP1TestClient()
        _ = client.feed("GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n")
        client.connection.startDraining()
        #expect(client.connection.isDraining)
        #expect(!client.connection.isClosed)
        #expect(client.respond(to: 1) == true)
        #expect(client.output().hasPrefix("HTTP/1.1 200 OK\r\nconnection: close\r\n"))
        #expect(client.connection.isClosed)
        #expect(client.events().isEmpty)  // /two is never read
    }

    @Test func drainingAnIdleConnectionClosesIt() {
        var client = HTTP1TestClient()
        client.connection.startDraining(lastStreamID: nil, debugData: nil)
        #expect(client.connection.isClosed)
        #expect(client.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n").isEmpty)
    }

    @Test func resetStreamAndAbortCloseTheConnection() {
        var client = HTTP1TestClient()
        _ = client.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "200"]) == true)
        client.connection.resetStream(streamID: 3, code: .cancel)  // not this request: nothing
        #expect(!client.connection.isClosed)
        client.connection.resetStream(streamID: 1, code: .cancel)
        #expect(client.connection.isClosed)
        #expect(client.output().hasPrefix("HTTP/1.1 200 OK"))  // what was written still goes out
        #expect(client.connection.sendData(streamID: 1, data: ByteBuffer(string: "x")) == false)

        var aborted = HTTP1TestClient()
        aborted.connection.abort(code: .enhanceYourCalm, debugData: nil)
        #expect(aborted.connection.isClosed)
        #expect(aborted.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n").isEmpty)
    }

    @Test func tagsComeBackWithTheBody() {
        var client = HTTP1TestClient()
        _ = client.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n")
        client.connection.setTag(9, streamID: 1)
        guard case .requestData(_, let tag, _, _, _) = client.feed("ab").first else {
            Issue.record("expected data")
            return
        }
        #expect(tag == 9)
    }
}

extension HTTP2ServerEvent {
    fileprivate var isStreamReset: Bool {
        if case .streamReset = self { return true }
        return false
    }
}
