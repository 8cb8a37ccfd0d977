// Requests the server's HTTP/1.1 transport refuses: each gets its error response (the exact
// status line, connection: close), then a connection error, and the connection is closed.
import GRPCSimpleHTTP1
import GRPCSimpleHTTP2
import NIOCore
import Testing

@Suite struct HTTP1MalformedRequestTests {
    /// Feeds `request` and checks the refusal: `statusLine` first in the output.
    private func expectRefusal(
        _ request: String,
        _ statusLine: String,
        configuration: HTTP1ServerConfiguration = .init(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var client = HTTP1TestClient(configuration: configuration)
        let events = client.feed(request)
        let output = client.output()
        #expect(output.hasPrefix(statusLine + "\r\n"), "\(output)", sourceLocation: sourceLocation)
        #expect(output.contains("\r\nconnection: close\r\n"), sourceLocation: sourceLocation)
        #expect(output.contains("\r\ncontent-type: text/plain"), sourceLocation: sourceLocation)
        #expect(events.last?.http1ConnectionError?.code == .protocolError, sourceLocation: sourceLocation)
        #expect(client.connection.isClosed, sourceLocation: sourceLocation)
        #expect(client.connection.activeStreams == 0, sourceLocation: sourceLocation)
        // Nothing more is read.
        #expect(client.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n").isEmpty, sourceLocation: sourceLocation)
    }

    @Test func theErrorBodyNamesTheRule() {
        var client = HTTP1TestClient()
        _ = client.feed("GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n")
        let body = "invalid header field name\n"
        #expect(
            client.output()
                == "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
                + "content-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)"
        )
    }

    @Test func aLongTargetIs414() {
        expectRefusal(
            "GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 414 URI Too Long")
        // Known as soon as the limit is passed, before the line ends.
        expectRefusal("GET /\(String(repeating: "a", count: 9000))", "HTTP/1.1 414 URI Too Long")
    }

    @Test func aRequestLineAtTheLimitIsAccepted() {
        var configuration = HTTP1ServerConfiguration()
        configuration.maxRequestLineLength = 20
        var client = HTTP1TestClient(configuration: configuration)
        let line = "GET /\(String(repeating: "a", count: 6)) HTTP/1.1"  // 20 bytes
        #expect(client.feed("\(line)\r\nHost: h\r\n\r\n").heads.count == 1)
        expectRefusal(
            "GET /\(String(repeating: "a", count: 7)) HTTP/1.1\r\n", "HTTP/1.1 414 URI Too Long",
            configuration: configuration)
    }

    @Test func aLargeHeaderSectionIs431() {
        let big = "x-big: \(String(repeating: "v", count: 17 * 1024))\r\n"
        expectRefusal("GET / HTTP/1.1\r\nHost: h\r\n\(big)\r\n", "HTTP/1.1 431 Request Header Fields Too Large")
    }

    @Test func tooManyHeaderFieldsIs431() {
        let fields = (0..<101).map { "x-\($0): v\r\n" }.joined()
        expectRefusal("GET / HTTP/1.1\r\n\(fields)\r\n", "HTTP/1.1 431 Request Header Fields Too Large")
        var client = HTTP1TestClient()
        let hundred = (0..<99).map { "x-\($0): v\r\n" }.joined()
        #expect(client.feed("GET / HTTP/1.1\r\nHost: h\r\n\(hundred)\r\n").heads.count == 1)
    }

    @Test func anotherHTTPVersionIs505() {
        expectRefusal("GET / HTTP/2.0\r\nHost: h\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported")
        expectRefusal("GET / HTTP/0.9\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported")
    }

    @Test func malformedRequestLinesAre400() {
        expectRefusal("GET / HTTX/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET /\r\nHost: h\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET /\u{7F} HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("\u{1}GET / HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 400 Bad Request")
    }

    @Test func bareLFIsRejected() {
        expectRefusal("GET / HTTP/1.1\nHost: h\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET / HTTP/1.1\r\nHost: h\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET / HTTP/1.1\r\nHost: h\r\n\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", "HTTP/1.1 400 Bad Request")
    }

    @Test func malformedHeaderFieldsAre400() {
        expectRefusal("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET / HTTP/1.1\r\nHost : h\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET / HTTP/1.1\r\nHost: h\r\nno-colon\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", "HTTP/1.1 400 Bad Request")
    }

    @Test func hostIsRequiredOnceInHTTP11() {
        expectRefusal("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 Bad Request")
    }

    @Test func invalidContentLengthsAre400() {
        for value in ["+5", "-1", "0x5", "5 5", "", "1234567890123456789", "5, 6"] {
            expectRefusal("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(value)\r\n\r\n", "HTTP/1.1 400 Bad Request")
        }
        expectRefusal(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "HTTP/1.1 400 Bad Request")
    }

    @Test func contentLengthWithTransferEncodingIsRejectedAsSmuggling() {
        expectRefusal(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 400 Bad Request"
        )
        expectRefusal(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 400 Bad Request"
        )
    }

    @Test func transferCodingsOtherThanChunkedAre501() {
        expectRefusal("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501 Not Implemented")
        expectRefusal(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "HTTP/1.1 501 Not Implemented")
        expectRefusal(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n\r\n", "HTTP/1.1 400 Bad Request")
        expectRefusal("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 400 Bad Request")
    }

    @Test func malformedChunkedBodiesAre400AfterTheHead() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        for body in [
            "xyz\r\n", "\r\n", "-1\r\n", "5 \r\n", "5;\u{1}\r\n", "123456789\r\n", "3\r\nabcX", "3\r\nabc\rX",
            "3\r\nabc\r\n0\r\nbad trailer\r\n\r\n", "5\nhello",
        ] {
            var client = HTTP1TestClient()
            let events = client.feed(head + body)
            #expect(events.heads.count == 1, "\(body)")
            #expect(events.last?.http1ConnectionError?.code == .protocolError, "\(body)")
            #expect(client.output().hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(body)")
            #expect(client.connection.isClosed, "\(body)")
        }
    }

    @Test func chunkSizeLinesAndTrailersAreBounded() {
        var configuration = HTTP1ServerConfiguration()
        configuration.maxChunkLineLength = 32
        configuration.maxTrailerSectionSize = 64
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        var client = HTTP1TestClient(configuration: configuration)
        #expect(client.feed(head + "1;\(String(repeating: "e", count: 40))").http1ConnectionError != nil)
        var trailers = HTTP1TestClient(configuration: configuration)
        let events = trailers.feed(head + "0\r\nx-t: \(String(repeating: "t", count: 80))\r\n\r\n")
        #expect(events.http1ConnectionError != nil)
        var fine = HTTP1TestClient(configuration: configuration)
        #expect(fine.feed(head + "00000001;e=1\r\na\r\n0\r\nx-t: t\r\n\r\n").bodyEnds == 1)
    }

    @Test func aBodyErrorAfterTheResponseStartedClosesWithoutAnErrorResponse() {
        var client = HTTP1TestClient()
        _ = client.feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "200"]) == true)
        _ = client.output()
        #expect(client.feed("zz\r\n").http1ConnectionError != nil)
        #expect(client.output().isEmpty)
        #expect(client.connection.isClosed)
    }
}
