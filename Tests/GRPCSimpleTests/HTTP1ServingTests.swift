import Foundation
import NIOCore
import SwiftProtobuf
import TestServices
import Testing

@testable import GRPCSimple

/// gRPC-Web and Connect over HTTP/1.1 on the gRPC port: the server tells HTTP/1.1 from
/// HTTP/2 by the first bytes, and serves the same calls.
@Suite struct HTTP1ServingTests {
    static let get = "/grpcsimple.echo.Echo/Get"
    static let expand = "/grpcsimple.echo.Echo/Expand"

    /// One HTTP/1.1 response, parsed.
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        /// Bytes after this response (the next pipelined one).
        var rest: [UInt8]

        func header(_ name: String) -> String? { self.headers.first { $0.0 == name }?.1 }
        var text: String { String(decoding: self.body, as: UTF8.self) }

        /// The first whole response in `bytes`, or nil while it is not all there.
        static func parse(_ bytes: [UInt8]) -> Response? {
            let crlf: [UInt8] = [13, 10]
            func line(from index: Int) -> (String, Int)? {
                var at = index
                while at + 1 < bytes.count {
                    if bytes[at] == 13, bytes[at + 1] == 10 {
                        return (String(decoding: bytes[index..<at], as: UTF8.self), at + 2)
                    }
                    at += 1
                }
                return nil
            }
            _ = crlf
            guard let (statusLine, afterStatus) = line(from: 0) else { return nil }
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
            var headers: [(String, String)] = []
            var index = afterStatus
            while true {
                guard let (text, next) = line(from: index) else { return nil }
                index = next
                if text.isEmpty { break }
                let colon = text.firstIndex(of: ":")!
                headers.append(
                    (
                        text[..<colon].lowercased(),
                        String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                    ))
            }
            var response = Response(status: status, headers: headers, body: [], rest: [])
            if let length = response.header("content-length").flatMap({ Int($0) }) {
                guard bytes.count >= index + length else { return nil }
                response.body = Array(bytes[index..<(index + length)])
                response.rest = Array(bytes[(index + length)...])
            } else if response.header("transfer-encoding") == "chunked" {
                while true {
                    guard let (sizeLine, next) = line(from: index) else { return nil }
                    guard let size = Int(sizeLine, radix: 16) else { return nil }
                    index = next
                    if size == 0 {
                        // Trailer fields, then the empty line.
                        while true {
                            guard let (text, after) = line(from: index) else { return nil }
                            index = after
                            if text.isEmpty { break }
                        }
                        break
                    }
                    guard bytes.count >= index + size + 2 else { return nil }
                    response.body += bytes[index..<(index + size)]
                    index += size + 2
                }
                response.rest = Array(bytes[index...])
            } else {
                response.rest = Array(bytes[index...])
            }
            return response
        }
    }

    static func request(_ path: String, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        self.request("POST", path, headers: headers, body: body)
    }

    static func request(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nhost: localhost\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if method == "POST" { text += "content-length: \(body.count)\r\n" }
        text += "\r\n"
        return Array(text.utf8) + body
    }

    static func responses(_ socket: RawSocket, count: Int) async throws -> [Response] {
        let found: [Response]? = await poll(within: .seconds(10)) {
            var bytes = socket.receivedBytes
            var found: [Response] = []
            while found.count < count, let response = Response.parse(bytes) {
                found.append(response)
                bytes = response.rest
            }
            return found.count == count ? found : nil
        }
        return try #require(
            found, "no \(count) whole responses in: \(String(decoding: socket.receivedBytes, as: UTF8.self))")
    }

    @Test func connectUnaryOverHTTP1WithKeepAliveAndPipelining() async throws {
        try await withHarness { harness in
            let socket = try await RawSocket.connect(port: harness.port)
            defer { Task { await socket.close() } }
            let first = Self.request(
                Self.get, headers: [("content-type", "application/json")], body: Array(#"{"text":"one"}"#.utf8))
            let second = Self.request(
                Self.get, headers: [("content-type", "application/json")], body: Array(#"{"text":"two"}"#.utf8))
            // Both at once: the second is read once the first is answered.
            try await socket.write(first + second)
            let responses = try await Self.responses(socket, count: 2)
            #expect(responses.map(\.status) == [200, 200])
            #expect(responses.map(\.text) == [#"{"text":"one"}"#, #"{"text":"two"}"#])
            #expect(responses[0].header("content-type") == "application/json")
            // Still open for a third.
            try await socket.write(
                Self.request(Self.get, headers: [("content-type", "application/json")], body: Array("{}".utf8)))
            let all = try await Self.responses(socket, count: 3)
            #expect(all[2].status == 200)
        }
    }

    @Test func connectErrorOverHTTP1() async throws {
        try await withHarness { harness in
            let socket = try await RawSocket.connect(port: harness.port)
            defer { Task { await socket.close() } }
            try await socket.write(
                Self.request(
                    "/grpcsimple.echo.Echo/Nope", headers: [("content-type", "application/proto")], body: []))
            let response = try #require(try await Self.responses(socket, count: 1).first)
            #expect(response.status == 501)
            #expect(response.text.contains(#""code":"unimplemented""#))
        }
    }

    @Test func grpcWebTextServerStreamingOverHTTP1() async throws {
        try await withHarness { harness in
            let socket = try await RawSocket.connect(port: harness.port)
            defer { Task { await socket.close() } }
            let message = RawHTTP2Client.message(
                try Grpcsimple_Echo_EchoRequest.with { $0.text = "x y z" }.serializedBytes())
            try await socket.write(
                Self.request(
                    Self.expand,
                    headers: [("content-type", "application/grpc-web-text"), ("x-grpc-web", "1")],
                    body: Array(Data(message).base64EncodedString().utf8)))
            let response = try #require(try await Self.responses(socket, count: 1).first)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/grpc-web-text+proto")
            var decoder = Base64StreamDecoder()
            let decoded = Array(try decoder.decode(ByteBuffer(bytes: response.body)).readableBytesView)
            let messages = try WebProtocolTests.envelopes(decoded)
            #expect(messages.map(\.0) == [0, 0, 0, 0x80])
            #expect(
                try messages.prefix(3).map { try Grpcsimple_Echo_EchoResponse(serializedBytes: $0.1).text } == [
                    "x", "y", "z",
                ])
            #expect(String(decoding: messages[3].1, as: UTF8.self) == "grpc-status: 0\r\n")
        }
    }

    @Test func corsPreflightOverHTTP1() async throws {
        var configuration = Server.Configuration()
        configuration.cors = CORSPolicy(allowedOrigins: ["*"])
        try await withHarness(configuration: configuration) { harness in
            let socket = try await RawSocket.connect(port: harness.port)
            defer { Task { await socket.close() } }
            try await socket.write(
                Self.request(
                    "OPTIONS", Self.get,
                    headers: [
                        ("origin", "http://page.example"), ("access-control-request-method", "POST"),
                        ("access-control-request-headers", "content-type"),
                    ], body: []))
            let response = try #require(try await Self.responses(socket, count: 1).first)
            #expect(response.status == 204)
            #expect(response.header("access-control-allow-origin") == "*")
            #expect(response.header("access-control-allow-methods")?.contains("POST") == true)
        }
    }

    @Test func aMalformedRequestGets400AndTheConnectionCloses() async throws {
        try await withHarness { harness in
            let socket = try await RawSocket.connect(port: harness.port)
            defer { Task { await socket.close() } }
            try await socket.write(
                Array("POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n".utf8))
            #expect(await socket.closed())
            #expect(String(decoding: socket.receivedBytes, as: UTF8.self).hasPrefix("HTTP/1.1 400 "))
        }
    }

    @Test func aStalledRequestHeadIsClosedAfterTheHandshakeTimeout() async throws {
        var configuration = Server.Configuration()
        configuration.handshakeTimeout = .milliseconds(300)
        try await withHarness(configuration: configuration) { harness in
            // First a whole request, so the handshake is over; then half of a second one.
            let socket = try await RawSocket.connect(port: harness.port)
            defer { Task { await socket.close() } }
            try await socket.write(
                Self.request(Self.get, headers: [("content-type", "application/json")], body: Array("{}".utf8)))
            _ = try await Self.responses(socket, count: 1)
            try await socket.write(Array("POST /grpcsimple.echo.Echo/Get HTTP/1.1\r\nhost: a".utf8))
            #expect(await socket.closed(within: .seconds(5)))
        }
    }

    @Test func theFirstBytesTellTheProtocol() {
        #expect(HTTPVersionDetector.detect(ByteBuffer(string: "PRI * HTTP/2.0\r\n")) == .http2)
        #expect(HTTPVersionDetector.detect(ByteBuffer(string: "PRI ")) == .http2)
        #expect(HTTPVersionDetector.detect(ByteBuffer(string: "PR")) == nil)
        #expect(HTTPVersionDetector.detect(ByteBuffer(string: "POST / HTTP/1.1")) == .http1)
        #expect(HTTPVersionDetector.detect(ByteBuffer(string: "G")) == .http1)
        #expect(HTTPVersionDetector.detect(ByteBuffer()) == nil)
    }
}
