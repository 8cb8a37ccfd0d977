// Request header validation in the server transport (RFC 9113 §8.2, §8.3): a malformed request
// is a stream error PROTOCOL_ERROR (§8.1.1), and so is DATA that contradicts content-length.
import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK
import Testing

@Suite struct HTTP2HeaderValidationTests {
    private static let valid: [(String, String)] = [
        (":method", "POST"), (":scheme", "http"), (":path", "/a/b"), (":authority", "x"), ("te", "trailers"),
    ]

    /// Sends `fields` as stream 1's request head; returns the code stream 1 was reset with.
    private static func reset(for fields: [(String, String)]) -> HTTP2ErrorCode? {
        var client = HTTP2TestClient()
        var headers = HPACKHeaders()
        for (name, value) in fields { headers.add(name: name, value: value) }
        let events = client.feed(client.headers(stream: 1, headers))
        #expect(events.isEmpty || events.first?.isRequestHead == true)
        #expect(!client.connection.isClosed, "a malformed request is a stream error")
        return client.output().reset(of: 1)
    }

    @Test func aWellFormedRequestPasses() {
        #expect(Self.reset(for: Self.valid) == nil)
    }

    @Test func pseudoHeaderRules() {
        let malformed: [[(String, String)]] = [
            Self.valid.filter { $0.0 != ":path" },  // missing :path
            Self.valid.filter { $0.0 != ":method" },  // missing :method
            Self.valid.filter { $0.0 != ":scheme" },  // missing :scheme
            Self.valid + [(":path", "/again")],  // pseudo-header after a regular one
            [(":method", "POST")] + Self.valid,  // duplicated
            [(":status", "200")] + Self.valid,  // a response pseudo-header
            [(":unknown", "1")] + Self.valid,  // an unknown one
            Self.valid.map { $0.0 == ":path" ? ($0.0, "") : $0 },  // empty :path
            Self.valid.map { $0.0 == ":method" ? ($0.0, "PO ST") : $0 },  // whitespace in a pseudo value
        ]
        for fields in malformed {
            #expect(Self.reset(for: fields) == .protocolError, "\(fields)")
        }
    }

    @Test func connectionSpecificAndInvalidFieldsAreMalformed() {
        let malformed: [(String, String)] = [
            ("connection", "keep-alive"), ("keep-alive", "1"), ("proxy-connection", "x"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"), ("te", "gzip"), ("x-bad", "a\r\nb"),
            ("x-nul", "a\u{0}b"), ("bad name", "1"),
        ]
        for field in malformed {
            #expect(Self.reset(for: Self.valid + [field]) == .protocolError, "\(field)")
        }
    }

    @Test func anUppercaseFieldNameIsMalformed() {
        // NIOHPACK's encoder lowercases names, so this field is encoded by hand: a literal
        // without indexing, with a new name (RFC 7541 §6.2.2).
        var client = HTTP2TestClient()
        let name = Array("Content-Type".utf8)
        let value = Array("application/grpc".utf8)
        let block =
            client.block(HTTP2TestClient.requestHeaders()) + [0x00, UInt8(name.count)] + name + [UInt8(value.count)]
            + value
        _ = client.feed(HTTP2TestClient.frame(FrameType.headers, flags: FrameFlags.endHeaders, stream: 1, block))
        #expect(client.output().reset(of: 1) == .protocolError)
    }

    @Test func contentLengthShorterThanTheDataIsMalformed() {
        // Issue 16 (h2spec 8.1.2.6): content-length not matching DATA is a PROTOCOL_ERROR.
        var client = HTTP2TestClient()
        client.open(stream: 1, extra: [("content-length", "3")])
        let events = client.feed(HTTP2TestClient.data(stream: 1, [1, 2, 3, 4], endStream: true))
        #expect(events.first?.resetCode == .protocolError)
        #expect(client.output().reset(of: 1) == .protocolError)
        #expect(!client.connection.isClosed)
    }

    @Test func contentLengthLongerThanTheDataIsMalformed() {
        var client = HTTP2TestClient()
        client.open(stream: 1, extra: [("content-length", "10")])
        #expect(client.feed(HTTP2TestClient.data(stream: 1, [1, 2, 3])).first?.resetCode == nil)
        let events = client.feed(HTTP2TestClient.data(stream: 1, [4], endStream: true))
        #expect(events.first?.resetCode == .protocolError)
    }

    @Test func contentLengthThatMatchesPasses() {
        var client = HTTP2TestClient()
        client.open(stream: 1, extra: [("content-length", "5")])
        #expect(client.feed(HTTP2TestClient.data(stream: 1, [1, 2])).first?.resetCode == nil)
        #expect(client.feed(HTTP2TestClient.data(stream: 1, [3, 4, 5], endStream: true)).first?.resetCode == nil)
        #expect(client.output().reset(of: 1) == nil)
    }

    @Test func contentLengthOnARequestWithoutDataIsMalformed() {
        var client = HTTP2TestClient()
        #expect(client.open(stream: 1, endStream: true, extra: [("content-length", "5")]).isEmpty)
        #expect(client.output().reset(of: 1) == .protocolError)
    }

    @Test func contentLengthMustBeDigits() {
        for value in ["", "-1", "1 ", "0x10", "99999999999999999999"] {
            #expect(Self.reset(for: Self.valid + [("content-length", value)]) == .protocolError, "\(value)")
        }
    }

    @Test func invalidTrailersAreMalformed() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        let events = client.feed(client.headers(stream: 1, [":path": "/x"], endStream: true))
        #expect(events.first?.resetCode == .protocolError)
    }
}
