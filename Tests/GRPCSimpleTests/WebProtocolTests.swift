import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP2
import SwiftProtobuf
import TestServices
import Testing

@testable import GRPCSimple

/// gRPC-Web and Connect over HTTP/2 on the gRPC port: every protocol reaches the same
/// handler, with its own framing of messages, status and errors.
@Suite struct WebProtocolTests {
    static let get = "/grpcsimple.echo.Echo/Get"
    static let expand = "/grpcsimple.echo.Echo/Expand"
    static let collect = "/grpcsimple.echo.Echo/Collect"

    static func request(_ text: String) throws -> [UInt8] {
        try Grpcsimple_Echo_EchoRequest.with { $0.text = text }.serializedBytes()
    }

    static func headers(_ path: String, contentType: String, _ extra: [(String, String)] = []) -> HPACKHeaders {
        RawHTTP2Client.requestHeaders(path: path, [("content-type", contentType)] + extra)
    }

    /// Splits a body of envelopes into (flags, payload) pairs.
    static func envelopes(_ bytes: [UInt8]) throws -> [(UInt8, [UInt8])] {
        var result: [(UInt8, [UInt8])] = []
        var index = 0
        while index < bytes.count {
            try #require(index + 5 <= bytes.count)
            let length =
                Int(bytes[index + 1]) << 24 | Int(bytes[index + 2]) << 16 | Int(bytes[index + 3]) << 8
                | Int(bytes[index + 4])
            try #require(index + 5 + length <= bytes.count)
            result.append((bytes[index], Array(bytes[(index + 5)..<(index + 5 + length)])))
            index += 5 + length
        }
        return result
    }

    static func call(
        _ harness: TestHarness, _ headers: HPACKHeaders, body: [UInt8]
    ) async throws -> (HPACKHeaders, [UInt8], [HPACKHeaders]) {
        let raw = try await RawHTTP2Client.connect(port: harness.port)
        defer { Task { await raw.close() } }
        try await raw.sendHeaders(stream: 1, headers)
        try await raw.sendData(stream: 1, body, endStream: true)
        let response = try await raw.response(stream: 1)
        let blocks = response.headerBlocks
        return (try #require(blocks.first), response.dataBytes, Array(blocks.dropFirst()))
    }

    // MARK: Connect

    @Test func connectUnaryWithProtobuf() async throws {
        try await withHarness { harness in
            let (head, body, _) = try await Self.call(
                harness, Self.headers(Self.get, contentType: "application/proto", [("connect-protocol-version", "1")]),
                body: try Self.request("hello"))
            #expect(head.first(name: ":status") == "200")
            #expect(head.first(name: "content-type") == "application/proto")
            #expect(head.first(name: "content-length") == String(body.count))
            let response = try Grpcsimple_Echo_EchoResponse(serializedBytes: body)
            #expect(response.text == "hello")
        }
    }

    @Test func connectUnaryWithJSONAndMetadata() async throws {
        try await withHarness { harness in
            let (head, body, _) = try await Self.call(
                harness,
                Self.headers(
                    Self.get, contentType: "application/json",
                    [("echo-metadata", "1"), ("x-color", "blue")]),
                body: Array(#"{"text": "json hello", "unknownField": 1}"#.utf8))
            #expect(head.first(name: ":status") == "200")
            #expect(head.first(name: "content-type") == "application/json")
            #expect(head.first(name: "x-color") == "blue")
            #expect(head.first(name: "trailer-trailer-x-color") == "blue")
            #expect(String(decoding: body, as: UTF8.self) == #"{"text":"json hello"}"#)
        }
    }

    @Test func connectUnaryErrorIsJSONWithTheCodesHTTPStatus() async throws {
        try await withHarness { harness in
            let (head, body, _) = try await Self.call(
                harness,
                Self.headers(
                    Self.get, contentType: "application/json",
                    [("fail-code", "5"), ("fail-message", "no \"such\" thing"), ("fail-detail", "why")]),
                body: Array(#"{"text":"x"}"#.utf8))
            #expect(head.first(name: ":status") == "404")
            #expect(head.first(name: "content-type") == "application/json")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            #expect(json["code"] as? String == "not_found")
            #expect(json["message"] as? String == #"no "such" thing"#)
            let details = try #require(json["details"] as? [[String: Any]])
            #expect(details.first?["type"] as? String == "google.protobuf.StringValue")
            let value = try #require(details.first?["value"] as? String)
            let decoded = try #require(
                Data(base64Encoded: value + String(repeating: "=", count: (4 - value.count % 4) % 4)))
            #expect(try Google_Protobuf_StringValue(serializedBytes: Array(decoded)).value == "why")
            // The error's trailing metadata, as trailer- headers.
            #expect(head.first(name: "trailer-error-detail-bin") != nil)
        }
    }

    @Test func connectUnaryRejectsBadJSONAsInvalidArgument() async throws {
        try await withHarness { harness in
            let (head, body, _) = try await Self.call(
                harness, Self.headers(Self.get, contentType: "application/json"), body: Array(#"{"text": 12"#.utf8))
            #expect(head.first(name: ":status") == "400")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            #expect(json["code"] as? String == "invalid_argument")
            #expect((json["message"] as? String)?.contains("/grpcsimple.echo.Echo/Get") == true)
        }
    }

    @Test func connectUnaryUnknownMethodIsUnimplemented() async throws {
        try await withHarness { harness in
            let (head, body, _) = try await Self.call(
                harness, Self.headers("/grpcsimple.echo.Echo/Nope", contentType: "application/json"),
                body: Array("{}".utf8))
            #expect(head.first(name: ":status") == "501")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            #expect(json["code"] as? String == "unimplemented")
        }
    }

    @Test func connectUnaryCompressedBothWays() async throws {
        try await withHarness { harness in
            let compressed = try CompressionAlgorithm.gzip.compress(
                ByteBuffer(bytes: try Self.request("squeezed")), allocator: ByteBufferAllocator())
            let (head, body, _) = try await Self.call(
                harness,
                Self.headers(
                    Self.get, contentType: "application/proto",
                    [("content-encoding", "gzip"), ("accept-encoding", "gzip"), ("response-compression", "gzip")]),
                body: Array(compressed.readableBytesView))
            #expect(head.first(name: ":status") == "200")
            #expect(head.first(name: "content-encoding") == "gzip")
            let inflated = try CompressionAlgorithm.gzip.decompress(ByteBuffer(bytes: body), limit: 1 << 20)
            #expect(
                try Grpcsimple_Echo_EchoResponse(serializedBytes: Array(inflated.readableBytesView)).text == "squeezed")
        }
    }

    @Test func connectUnaryBodyOverTheLimitIsResourceExhausted() async throws {
        var configuration = Server.Configuration()
        configuration.maximumReceiveMessageSize = 1024
        try await withHarness(configuration: configuration) { harness in
            let (head, body, _) = try await Self.call(
                harness, Self.headers(Self.get, contentType: "application/proto"),
                body: try Self.request(String(repeating: "x", count: 4096)))
            #expect(head.first(name: ":status") == "429")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            #expect(json["code"] as? String == "resource_exhausted")
            #expect((json["message"] as? String)?.contains("limit of 1024 bytes") == true)
        }
    }

    static func getHeaders(_ pathAndQuery: String) -> HPACKHeaders {
        RawHTTP2Client.requestHeaders(path: pathAndQuery, [(":method", "GET")])
    }

    static func get(_ harness: TestHarness, _ pathAndQuery: String) async throws -> (HPACKHeaders, [UInt8]) {
        let raw = try await RawHTTP2Client.connect(port: harness.port)
        defer { Task { await raw.close() } }
        try await raw.sendHeaders(stream: 1, Self.getHeaders(pathAndQuery), endStream: true)
        let response = try await raw.response(stream: 1)
        return (try #require(response.headerBlocks.first), response.dataBytes)
    }

    @Test func connectGetForAMethodWithoutSideEffects() async throws {
        try await withHarness { harness in
            // {"text":"q u"} percent-encoded, with + for the space.
            let (head, body) = try await Self.get(
                harness, Self.get + "?connect=v1&encoding=json&message=%7B%22text%22%3A%22q+u%22%7D")
            #expect(head.first(name: ":status") == "200")
            #expect(String(decoding: body, as: UTF8.self) == #"{"text":"q u"}"#)
            // The message in protobuf, base64url without padding.
            let message = Data(try Self.request("base64 here")).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            let (protoHead, protoBody) = try await Self.get(
                harness, Self.get + "?encoding=proto&base64=1&message=" + message)
            #expect(protoHead.first(name: ":status") == "200")
            #expect(protoHead.first(name: "content-type") == "application/proto")
            #expect(try Grpcsimple_Echo_EchoResponse(serializedBytes: protoBody).text == "base64 here")
        }
    }

    @Test func connectGetIsRefusedWhereTheProtocolSaysNo() async throws {
        try await withHarness { harness in
            // A streaming method, and a query without encoding.
            let (streaming, body) = try await Self.get(harness, Self.expand + "?encoding=json&message=%7B%7D")
            #expect(streaming.first(name: ":status") == "405")
            #expect(String(decoding: body, as: UTF8.self).contains("does not take GET requests"))
            let (noEncoding, noEncodingBody) = try await Self.get(harness, Self.get + "?message=%7B%7D")
            #expect(noEncoding.first(name: ":status") == "400")
            #expect(String(decoding: noEncodingBody, as: UTF8.self).contains("needs the query parameter encoding"))
            let (unknown, _) = try await Self.get(harness, Self.get + "?encoding=xml&message=x")
            #expect(unknown.first(name: ":status") == "415")
        }
    }

    @Test func connectGetQueriesParse() {
        #expect(
            ConnectGetRequest.parse("/a.B/C?encoding=json&message=%7B%7D&compression=gzip&connect=v1")
                == .success(
                    ConnectGetRequest(path: "/a.B/C", codec: .json, compressionName: "gzip", message: Array("{}".utf8)))
        )
        #expect(
            ConnectGetRequest.parse("/a.B/C?encoding=proto&base64=1&message=CgJoaQ")
                == .success(
                    ConnectGetRequest(
                        path: "/a.B/C", codec: .protobuf, compressionName: nil, message: [10, 2, 104, 105])))
        #expect((try? ConnectGetRequest.parse("/a.B/C?encoding=json&message=%zz").get()) == nil)
        #expect((try? ConnectGetRequest.parse("/a.B/C?encoding=json&message=x&connect=v2").get()) == nil)
        #expect((try? ConnectGetRequest.parse("/a.B/C?encoding=json&base64=1&message=***").get()) == nil)
    }

    @Test func connectStreamingEndsWithAnEndOfStreamMessage() async throws {
        try await withHarness { harness in
            var request = RawHTTP2Client.message(Array(#"{"text":"a b c"}"#.utf8))
            request[0] = 0
            let (head, body, _) = try await Self.call(
                harness, Self.headers(Self.expand, contentType: "application/connect+json"), body: request)
            #expect(head.first(name: ":status") == "200")
            #expect(head.first(name: "content-type") == "application/connect+json")
            let messages = try Self.envelopes(body)
            #expect(messages.count == 4)
            #expect(
                messages.prefix(3).map { String(decoding: $0.1, as: UTF8.self) } == [
                    #"{"text":"a"}"#, #"{"text":"b"}"#, #"{"text":"c"}"#,
                ])
            #expect(messages.last?.0 == 0x02)
            #expect(String(decoding: messages.last?.1 ?? [], as: UTF8.self) == "{}")
        }
    }

    @Test func connectStreamingErrorIsInTheEndOfStreamMessage() async throws {
        try await withHarness { harness in
            let (head, body, _) = try await Self.call(
                harness, Self.headers(Self.expand, contentType: "application/connect+proto", [("fail-code", "7")]),
                body: RawHTTP2Client.message(try Self.request("a")))
            #expect(head.first(name: ":status") == "200")
            let messages = try Self.envelopes(body)
            #expect(messages.count == 1)
            #expect(messages[0].0 == 0x02)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(messages[0].1)) as? [String: Any])
            let error = try #require(json["error"] as? [String: Any])
            #expect(error["code"] as? String == "permission_denied")
            let metadata = try #require(json["metadata"] as? [String: [String]])
            #expect(metadata["error-detail-bin"] == ["AAEC/w"])
        }
    }

    @Test func connectUnaryContentTypeOnAStreamingMethodIsUnsupported() async throws {
        try await withHarness { harness in
            let (head, _, _) = try await Self.call(
                harness, Self.headers(Self.expand, contentType: "application/proto"), body: try Self.request("a"))
            #expect(head.first(name: ":status") == "415")
        }
    }

    // MARK: gRPC-Web

    @Test func grpcWebUnaryPutsTheTrailersInTheBody() async throws {
        try await withHarness { harness in
            let (head, body, trailers) = try await Self.call(
                harness,
                Self.headers(Self.get, contentType: "application/grpc-web+proto", [("x-grpc-web", "1")]),
                body: RawHTTP2Client.message(try Self.request("web")))
            #expect(head.first(name: ":status") == "200")
            #expect(head.first(name: "content-type") == "application/grpc-web+proto")
            #expect(head.first(name: "grpc-status") == nil)
            #expect(trailers.allSatisfy { $0.isEmpty })
            let messages = try Self.envelopes(body)
            #expect(messages.count == 2)
            #expect(try Grpcsimple_Echo_EchoResponse(serializedBytes: messages[0].1).text == "web")
            #expect(messages[1].0 == 0x80)
            #expect(String(decoding: messages[1].1, as: UTF8.self) == "grpc-status: 0\r\n")
        }
    }

    @Test func grpcWebUnknownMethodIsAStatusInTheBody() async throws {
        try await withHarness { harness in
            let (head, body, _) = try await Self.call(
                harness, Self.headers("/grpcsimple.echo.Echo/Nope", contentType: "application/grpc-web"),
                body: RawHTTP2Client.message([]))
            #expect(head.first(name: ":status") == "200")
            let messages = try Self.envelopes(body)
            #expect(messages.count == 1)
            #expect(messages[0].0 == 0x80)
            let trailers = String(decoding: messages[0].1, as: UTF8.self)
            #expect(trailers.hasPrefix("grpc-status: 12\r\n"))
            #expect(trailers.contains("unknown method Nope"))
        }
    }

    @Test func grpcWebTextIsBase64BothWays() async throws {
        try await withHarness { harness in
            // Two independently padded chunks of base64, as a browser client may send.
            let message = RawHTTP2Client.message(Array(#"{"text":"a b"}"#.utf8))
            let first = Data(message.prefix(4)).base64EncodedString()
            let second = Data(message.dropFirst(4)).base64EncodedString()
            let (head, body, _) = try await Self.call(
                harness, Self.headers(Self.expand, contentType: "application/grpc-web-text+json"),
                body: Array((first + second).utf8))
            #expect(head.first(name: "content-type") == "application/grpc-web-text+json")
            var decoder = Base64StreamDecoder()
            let decoded = try decoder.decode(ByteBuffer(bytes: body))
            #expect(decoder.isComplete)
            let messages = try Self.envelopes(Array(decoded.readableBytesView))
            #expect(messages.map(\.0) == [0, 0, 0x80])
            #expect(String(decoding: messages[1].1, as: UTF8.self) == #"{"text":"b"}"#)
        }
    }

    @Test func grpcWebTextRejectsWhatIsNotBase64() async throws {
        try await withHarness { harness in
            let (head, body, _) = try await Self.call(
                harness, Self.headers(Self.get, contentType: "application/grpc-web-text"), body: Array("AAA*".utf8))
            #expect(head.first(name: ":status") == "200")
            var decoder = Base64StreamDecoder()
            let messages = try Self.envelopes(Array(try decoder.decode(ByteBuffer(bytes: body)).readableBytesView))
            let trailers = String(decoding: try #require(messages.last).1, as: UTF8.self)
            #expect(trailers.contains("grpc-status: 3\r\n"))
            #expect(trailers.contains("grpc-message: the body is not base64: byte 42 at offset 3"))
        }
    }

    @Test func grpcWithJSONMessages() async throws {
        try await withHarness { harness in
            let (head, body, trailers) = try await Self.call(
                harness, Self.headers(Self.get, contentType: "application/grpc+json"),
                body: RawHTTP2Client.message(Array(#"{"text":"grpc json"}"#.utf8)))
            #expect(head.first(name: "content-type") == "application/grpc+json")
            #expect(trailers.last?.first(name: "grpc-status") == "0")
            #expect(
                try Self.envelopes(body).map { String(decoding: $0.1, as: UTF8.self) } == [#"{"text":"grpc json"}"#])
        }
    }

    // MARK: CORS

    @Test func corsPreflightAndResponsesForAnAllowedOrigin() async throws {
        var configuration = Server.Configuration()
        configuration.cors = CORSPolicy(allowedOrigins: ["http://page.example"])
        try await withHarness(configuration: configuration) { harness in
            let raw = try await RawHTTP2Client.connect(port: harness.port)
            defer { Task { await raw.close() } }
            try await raw.sendHeaders(
                stream: 1,
                RawHTTP2Client.requestHeaders(
                    path: Self.get,
                    [
                        (":method", "OPTIONS"), ("origin", "http://page.example"),
                        ("access-control-request-method", "POST"),
                        ("access-control-request-headers", "content-type,x-token"),
                    ]), endStream: true)
            let preflight = try #require(try await raw.response(stream: 1).headerBlocks.first)
            #expect(preflight.first(name: ":status") == "204")
            #expect(preflight.first(name: "access-control-allow-origin") == "http://page.example")
            #expect(preflight.first(name: "access-control-allow-headers")?.contains("x-token") == true)
            #expect(preflight.first(name: "access-control-allow-methods")?.contains("POST") == true)

            try await raw.sendHeaders(
                stream: 3,
                RawHTTP2Client.requestHeaders(
                    path: "/grpcsimple.echo.Echo/Get",
                    [("content-type", "application/json"), ("origin", "http://evil.example")]), endStream: true)
            let refused = try #require(try await raw.response(stream: 3).headerBlocks.first)
            #expect(refused.first(name: "access-control-allow-origin") == nil)

            try await raw.sendHeaders(
                stream: 5,
                RawHTTP2Client.requestHeaders(
                    path: Self.get, [("content-type", "application/json"), ("origin", "http://page.example")]))
            try await raw.sendData(stream: 5, Array("{}".utf8), endStream: true)
            let allowed = try #require(try await raw.response(stream: 5).headerBlocks.first)
            #expect(allowed.first(name: ":status") == "200")
            #expect(allowed.first(name: "access-control-allow-origin") == "http://page.example")
            #expect(allowed.first(name: "access-control-expose-headers")?.contains("grpc-status") == true)
        }
    }

    // MARK: Pieces

    @Test func contentTypesNameTheirProtocolAndCodec() {
        #expect(CallFormat(contentType: "application/grpc") == .grpc)
        #expect(CallFormat(contentType: "application/grpc+json") == CallFormat(wireProtocol: .grpc, codec: .json))
        #expect(
            CallFormat(contentType: "Application/GRPC-Web+Proto")
                == CallFormat(wireProtocol: .grpcWeb, codec: .protobuf))
        #expect(
            CallFormat(contentType: "application/grpc-web-text")
                == CallFormat(wireProtocol: .grpcWebText, codec: .protobuf))
        #expect(
            CallFormat(contentType: "application/json; charset=utf-8")
                == CallFormat(wireProtocol: .connectUnary, codec: .json))
        #expect(
            CallFormat(contentType: "application/connect+proto")
                == CallFormat(wireProtocol: .connectStreaming, codec: .protobuf))
        #expect(CallFormat(contentType: "application/connect") == nil)
        #expect(CallFormat(contentType: "application/grpc+thrift") == nil)
        #expect(CallFormat(contentType: "application/grpcx") == nil)
        #expect(CallFormat(contentType: "text/plain") == nil)
        #expect(CallFormat(contentType: "application/proto+json") == nil)
    }

    @Test func base64DecodesAcrossPiecesAndPaddedChunks() throws {
        var decoder = Base64StreamDecoder()
        var out: [UInt8] = []
        // "ab" padded, then "cde" unpadded, fed one character at a time.
        for character in "YWI=Y2Rl".utf8 {
            out += try decoder.decode(ByteBuffer(bytes: [character])).readableBytesView
        }
        #expect(decoder.isComplete)
        #expect(String(decoding: out, as: UTF8.self) == "abcde")
        var bad = Base64StreamDecoder()
        #expect(throws: Base64StreamDecoder.Failure.self) { try bad.decode(ByteBuffer(string: "A=BC")) }
        let encoded = Base64.encodePadded(ByteBuffer(string: "abcd"), allocator: ByteBufferAllocator())
        #expect(String(buffer: encoded) == "YWJjZA==")
    }

    @Test func connectErrorJSONEscapesAndMapsCodes() {
        #expect(
            ConnectError.json(Status(code: .cancelled, message: "a\"b\\\n\u{1}"))
                == #"{"code":"canceled","message":"a\"b\\\n\u0001"}"#)
        #expect(ConnectError.httpStatus(.resourceExhausted) == 429)
        #expect(ConnectError.httpStatus(.unauthenticated) == 401)
        #expect(ConnectError.httpStatus(.failedPrecondition) == 400)
        #expect(ConnectError.endOfStreamJSON(.ok, trailers: ["k": "v"]) == #"{"metadata":{"k":["v"]}}"#)
    }
}
