// The server's HTTP/1.1 transport writing responses: chunked, with a content-length,
// trailers-only, and the fields it refuses to write.
import GRPCSimpleHTTP1
import GRPCSimpleHTTP2
import NIOCore
import Testing

@Suite struct HTTP1ResponseTests {
    private func client(request: String = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n") -> HTTP1TestClient
    {
        var client = HTTP1TestClient()
        _ = client.feed(request)
        return client
    }

    @Test func aChunkedResponseWithTrailers() {
        var client = self.client()
        #expect(
            client.connection.sendHeaders(
                streamID: 1, headers: [":status": "200", "content-type": "application/grpc-web+proto"]) == true)
        #expect(
            client.output()
                == "HTTP/1.1 200 OK\r\ncontent-type: application/grpc-web+proto\r\ntransfer-encoding: chunked\r\n\r\n")
        #expect(client.connection.sendData(streamID: 1, data: ByteBuffer(string: "hello, world")) == true)
        #expect(client.output() == "c\r\nhello, world\r\n")
        #expect(client.connection.sendData(streamID: 1, data: ByteBuffer()) == true)
        #expect(client.output().isEmpty)
        #expect(client.connection.bufferedOutputBytes(streamID: 1) == 0)
        #expect(
            client.connection.sendTrailers(streamID: 1, trailers: ["grpc-status": "0", "grpc-message": "fine"]) == true)
        #expect(client.output() == "0\r\ngrpc-status: 0\r\ngrpc-message: fine\r\n\r\n")
        #expect(client.connection.activeStreams == 0)
        #expect(client.connection.sendTrailers(streamID: 1, trailers: [:]) == false)
    }

    @Test func aContentLengthResponseIsWrittenRaw() {
        var client = self.client()
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "404", "content-length": "5"]) == true)
        #expect(client.connection.sendData(streamID: 1, data: ByteBuffer(string: "abc")) == true)
        #expect(client.connection.sendData(streamID: 1, data: ByteBuffer(string: "def")) == false)  // past the length
        #expect(client.connection.sendData(streamID: 1, data: ByteBuffer(string: "de")) == true)
        #expect(client.connection.sendTrailers(streamID: 1, trailers: ["grpc-status": "0"]) == true)
        #expect(client.output() == "HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\n\r\nabcde")
        #expect(!client.connection.isClosed)
        #expect(client.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n").heads.count == 1)
    }

    @Test func aContentLengthResponseCutShortClosesTheConnection() {
        var client = self.client()
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "200", "content-length": "5"]) == true)
        #expect(client.connection.sendData(streamID: 1, data: ByteBuffer(string: "abc")) == true)
        #expect(client.connection.sendTrailers(streamID: 1, trailers: [:]) == true)
        #expect(client.connection.isClosed)
    }

    @Test func aTrailersOnlyResponseIsTheWholeResponse() {
        var client = self.client()
        #expect(client.connection.sendTrailers(streamID: 1, trailers: [":status": "200", "grpc-status": "12"]) == true)
        #expect(client.output() == "HTTP/1.1 200 OK\r\ngrpc-status: 12\r\ncontent-length: 0\r\n\r\n")
        #expect(client.connection.activeStreams == 0)
        #expect(!client.connection.isClosed)
    }

    @Test func aTrailersOnlyResponseKeepsItsOwnContentLength() {
        var client = self.client(request: "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(
            client.connection.sendTrailers(streamID: 1, trailers: [":status": "200", "content-length": "42"]) == true)
        #expect(client.output() == "HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n")
    }

    @Test func aResponseToHEADHasNoBody() {
        var client = self.client(request: "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "200"]) == true)
        #expect(client.connection.sendData(streamID: 1, data: ByteBuffer(string: "x")) == false)
        #expect(client.connection.sendTrailers(streamID: 1, trailers: ["grpc-status": "0"]) == true)
        #expect(client.output() == "HTTP/1.1 200 OK\r\n\r\n")
    }

    @Test func hopByHopAndPseudoFieldsOfTheApplicationAreNotWritten() {
        var client = self.client()
        #expect(
            client.connection.sendHeaders(
                streamID: 1,
                headers: [":status": "200", "Connection": "keep-alive", "transfer-encoding": "gzip", "x-a": "b"]
            ) == true
        )
        #expect(client.output() == "HTTP/1.1 200 OK\r\nx-a: b\r\ntransfer-encoding: chunked\r\n\r\n")
    }

    @Test func fieldsThatWouldSplitTheResponseAreRefused() {
        var client = self.client()
        #expect(
            client.connection.sendHeaders(streamID: 1, headers: [":status": "200", "x": "a\r\nset-cookie: y"]) == false)
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "200", "bad name": "v"]) == false)
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "2000"]) == false)
        #expect(client.connection.sendHeaders(streamID: 1, headers: ["x": "no status"]) == false)
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "100"]) == false)
        #expect(
            client.connection.sendHeaders(streamID: 1, headers: [":status": "200", "content-length": "-1"]) == false)
        #expect(client.connection.sendHeaders(streamID: 3, headers: [":status": "200"]) == false)
        #expect(client.output().isEmpty)
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "200"]) == true)
        #expect(client.connection.sendHeaders(streamID: 1, headers: [":status": "200"]) == false)
    }

    @Test func reasonPhrasesForStatusesGRPCWebUses() {
        for (status, line) in [
            ("400", "HTTP/1.1 400 Bad Request"), ("415", "HTTP/1.1 415 Unsupported Media Type"),
            ("503", "HTTP/1.1 503 Service Unavailable"), ("299", "HTTP/1.1 299 Unknown"),
        ] {
            var client = self.client()
            #expect(client.connection.sendTrailers(streamID: 1, trailers: [":status": status]) == true)
            #expect(client.output().hasPrefix(line + "\r\n"))
        }
    }
}
