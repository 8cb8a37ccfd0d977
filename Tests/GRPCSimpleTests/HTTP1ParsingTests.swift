// The server's HTTP/1.1 transport reading requests: heads as HTTP/2-style header lists, bodies
// with content-length or chunked, split anywhere, HTTP/1.0 and expect: 100-continue.
import GRPCSimpleHTTP1
import GRPCSimpleHTTP2
import NIOCore
import Testing

@Suite struct HTTP1ParsingTests {
    @Test func aGetBecomesARequestHeadWithPseudoHeadersFirst() throws {
        var client = HTTP1TestClient()
        #expect(!client.connection.receivedRequest)
        let events = client.feed(
            "GET /a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent:  curl/8 \t\r\nAccept: */*\r\n\r\n"
        )
        #expect(events.count == 1)
        let head = try #require(events.first?.http1Head)
        #expect(head.streamID == 1)
        #expect(head.path == "/a/b?c=d")
        #expect(head.endStream)
        #expect(head.headers.map(\.0) == [":method", ":scheme", ":path", ":authority", "user-agent", "accept"])
        #expect(head.headers.map(\.1) == ["GET", "http", "/a/b?c=d", "example.com:8080", "curl/8", "*/*"])
        #expect(client.connection.receivedRequest)
        #expect(client.connection.activeStreams == 1)
        #expect(client.connection.highestStreamID == 1)
        #expect(!client.connection.hasPartialRequest)
        #expect(client.output().isEmpty)
    }

    @Test func aPostWithContentLengthDeliversItsBody() throws {
        var client = HTTP1TestClient()
        let events = client.feed(
            "POST /pkg.Service/Method HTTP/1.1\r\nhost: h\r\ncontent-type: application/grpc-web+proto\r\n"
                + "content-length: 5\r\n\r\nhello"
        )
        #expect(events.count == 2)
        let head = try #require(events.first?.http1Head)
        #expect(!head.endStream)
        #expect(head.value("content-length") == "5")
        #expect(head.value("content-type") == "application/grpc-web+proto")
        let data = try #require(events.last?.http1Data)
        #expect(data.streamID == 1 && data.text == "hello" && data.endStream && data.length == 5)
    }

    @Test func contentLengthZeroIsARequestWithoutBody() throws {
        var client = HTTP1TestClient()
        let events = client.feed("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        #expect(events.count == 1)
        #expect(try #require(events.first?.http1Head).endStream)
    }

    @Test func repeatedEqualContentLengthsAreAccepted() {
        var client = HTTP1TestClient()
        let events = client.feed("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n\r\nabc")
        #expect(events.body == "abc")
        #expect(events.http1ConnectionError == nil)
    }

    @Test func hopByHopFieldsAreLeftOut() throws {
        var client = HTTP1TestClient()
        let events = client.feed(
            "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nKeep-Alive: timeout=5\r\n"
                + "Proxy-Connection: x\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Custom: 1\r\n\r\n"
        )
        let head = try #require(events.first?.http1Head)
        #expect(head.headers.map(\.0) == [":method", ":scheme", ":path", ":authority", "x-custom"])
    }

    /// A chunked body with an extension and a trailer section, followed by a second request.
    static let chunkedRequest =
        "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5;name=value\r\nhello\r\nA\r\n0123456789\r\n1 ; x\r\n!\r\n0\r\nx-checksum: abc\r\n\r\n"

    @Test func aChunkedBodyIsReadWhole() throws {
        var client = HTTP1TestClient()
        let events = client.feed(Self.chunkedRequest)
        #expect(try #require(events.first?.http1Head).endStream == false)
        #expect(events.body == "hello0123456789!")
        #expect(events.bodyEnds == 1)
        #expect(events.last?.http1Data?.endStream == true)
        #expect(client.connection.activeStreams == 1)
        #expect(!client.connection.hasPartialRequest)
    }

    @Test func aChunkedBodySplitAtEveryBoundaryReadsTheSame() {
        let bytes = Array(Self.chunkedRequest.utf8)
        for split in 1..<bytes.count {
            var client = HTTP1TestClient()
            var events = client.feed(bytes: Array(bytes[..<split]))
            events += client.feed(bytes: Array(bytes[split...]))
            #expect(events.heads.count == 1, "split at \(split)")
            #expect(events.body == "hello0123456789!", "split at \(split)")
            #expect(events.bodyEnds == 1, "split at \(split)")
            #expect(events.http1ConnectionError == nil, "split at \(split)")
        }
    }

    @Test func aChunkedBodyFedOneByteAtATimeReadsTheSame() {
        var client = HTTP1TestClient()
        var events: [HTTP2ServerEvent] = []
        for byte in Self.chunkedRequest.utf8 {
            events += client.feed(bytes: [byte])
            #expect(client.connection.hasPartialRequest || events.bodyEnds == 1)
        }
        #expect(events.heads.count == 1)
        #expect(events.body == "hello0123456789!")
        #expect(events.bodyEnds == 1)
        #expect(events.last?.http1Data?.endStream == true)
    }

    @Test func aHeadFedOneByteAtATimeIsPartialUntilItsEnd() {
        var client = HTTP1TestClient()
        let request = Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
        for byte in request.dropLast() {
            #expect(client.feed(bytes: [byte]).isEmpty)
            #expect(client.connection.hasPartialRequest)
        }
        #expect(client.feed(bytes: [request.last!]).heads.count == 1)
        #expect(!client.connection.hasPartialRequest)
    }

    @Test func emptyLinesBeforeARequestAreSkipped() {
        var client = HTTP1TestClient()
        #expect(client.feed("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n").heads.count == 1)
    }

    @Test func http10RequestsNeedNoHostAndCloseAfterTheResponse() throws {
        var client = HTTP1TestClient()
        let head = try #require(client.feed("GET /old HTTP/1.0\r\n\r\nGET /next HTTP/1.0\r\n\r\n").first?.http1Head)
        #expect(head.headers.map(\.0) == [":method", ":scheme", ":path"])
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "200"]) == true)
        #expect(client.connection.sendData(streamID: 1, data: ByteBuffer(string: "raw")) == true)
        #expect(client.connection.sendTrailers(streamID: 1, trailers: ["grpc-status": "0"]) == true)
        // No chunked encoding for HTTP/1.0: the body ends with the connection.
        #expect(client.output() == "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nraw")
        #expect(client.connection.isClosed)
        #expect(client.events().isEmpty)
    }

    @Test func http10KeepAliveStaysOpenWithAContentLength() {
        var client = HTTP1TestClient()
        #expect(client.feed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").heads.count == 1)
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "200", "content-length": "2"]) == true)
        #expect(client.connection.sendData(streamID: 1, data: ByteBuffer(string: "ok")) == true)
        #expect(client.connection.sendTrailers(streamID: 1, trailers: [:]) == true)
        #expect(client.output() == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok")
        #expect(!client.connection.isClosed)
        #expect(client.feed("GET /2 HTTP/1.0\r\n\r\n").heads.first?.streamID == 3)
    }

    @Test func expect100ContinueIsAnsweredBeforeTheBody() throws {
        var client = HTTP1TestClient()
        let events = client.feed("POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        let head = try #require(events.first?.http1Head)
        #expect(head.value("expect") == nil)
        #expect(client.output() == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(client.feed("abc").body == "abc")
    }

    @Test func expect100ContinueWithoutBodyOrFromHTTP10GetsNoInterimResponse() {
        var client = HTTP1TestClient()
        #expect(client.feed("GET /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n").heads.count == 1)
        #expect(client.output().isEmpty)
        var old = HTTP1TestClient()
        #expect(old.feed("POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").heads.count == 1)
        #expect(old.output().isEmpty)
    }

    @Test func limitsOfIntMaxDoNotOverflow() {
        var configuration = HTTP1ServerConfiguration()
        configuration.maxRequestLineLength = .max
        configuration.maxHeaderSectionSize = .max
        configuration.maxHeaderFields = .max
        configuration.maxChunkLineLength = .max
        configuration.maxChunkSizeDigits = .max
        configuration.maxTrailerSectionSize = .max
        configuration.receiveWindow = .max
        var client = HTTP1TestClient(configuration: configuration)
        let events = client.feed(Self.chunkedRequest)
        #expect(events.body == "hello0123456789!")
        #expect(events.bodyEnds == 1)
    }

    @Test func randomBytesNeverTrap() {
        var generator = XorshiftGenerator(seed: 7)
        let alphabet = Array("GET POST / HTTP/1.1\r\n:;0123456789abcdefABCDEF chunked content-length host".utf8)
        for _ in 0..<300 {
            var client = HTTP1TestClient()
            for _ in 0..<8 {
                let bytes = (0..<Int.random(in: 1...64, using: &generator)).map { _ in
                    Bool.random(using: &generator)
                        ? alphabet.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
                }
                for event in client.feed(bytes: bytes) {
                    if case .requestHead(let streamID, _, _, _) = event { client.respond(to: streamID) }
                    if case .requestData(let streamID, _, _, _, let length) = event {
                        client.connection.dataConsumed(streamID: streamID, bytes: length)
                    }
                }
                _ = client.output()
            }
            client.connection.receiveEndOfInput()
            _ = client.events()
        }
    }
}
