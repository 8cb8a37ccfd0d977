// A client for the state-machine tests of the server's HTTP/1.1 transport: it feeds bytes to
// an `HTTP1ServerConnection` (no channel, no socket) and reads back what it wrote, as text.
import GRPCSimpleHTTP1
import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK

struct HTTP1TestClient {
    var connection: HTTP1ServerConnection

    init(configuration: HTTP1ServerConfiguration = .init()) {
        self.connection = HTTP1ServerConnection(configuration: configuration, allocator: ByteBufferAllocator())
        self.connection.start()
    }

    /// Feeds `text` in one read and returns every event it gives.
    mutating func feed(_ text: String) -> [HTTP2ServerEvent] {
        self.feed(bytes: Array(text.utf8))
    }

    mutating func feed(bytes: [UInt8]) -> [HTTP2ServerEvent] {
        self.connection.receive(ByteBuffer(bytes: bytes))
        return self.events()
    }

    /// Every event available now.
    mutating func events() -> [HTTP2ServerEvent] {
        var events: [HTTP2ServerEvent] = []
        while let event = self.connection.nextEvent() { events.append(event) }
        return events
    }

    /// What the connection wrote since the last call, as text.
    mutating func output() -> String {
        String(buffer: self.connection.takeOutput())
    }

    /// A complete chunked response: headers, `body` (if any) and `grpc-status: 0` trailers.
    @discardableResult
    mutating func respond(to streamID: UInt32, body: String = "ok") -> Bool {
        guard self.connection.sendHeaders(streamID: streamID, headers: [":status": "200"]) else { return false }
        if !body.isEmpty { _ = self.connection.sendData(streamID: streamID, data: ByteBuffer(string: body)) }
        return self.connection.sendTrailers(streamID: streamID, trailers: ["grpc-status": "0"])
    }
}

/// What a request head event carried.
struct HTTP1HeadEvent {
    var streamID: UInt32
    var path: String
    var headers: [(String, String)]
    var endStream: Bool

    func value(_ name: String) -> String? { self.headers.first { $0.0 == name }?.1 }
}

extension HTTP2ServerEvent {
    var http1Head: HTTP1HeadEvent? {
        guard case .requestHead(let streamID, let path, let headers, let endStream) = self else { return nil }
        return HTTP1HeadEvent(
            streamID: streamID,
            path: path,
            headers: headers.map { ($0.name, $0.value) },
            endStream: endStream
        )
    }

    /// A data event's stream, bytes as text, end flag and flow-controlled length.
    var http1Data: (streamID: UInt32, text: String, endStream: Bool, length: Int)? {
        guard case .requestData(let streamID, _, let data, let endStream, let length) = self else { return nil }
        return (streamID, String(buffer: data), endStream, length)
    }

    var http1ConnectionError: HTTP2ConnectionError? {
        if case .connectionError(let error) = self { return error }
        return nil
    }
}

extension [HTTP2ServerEvent] {
    var heads: [HTTP1HeadEvent] { self.compactMap(\.http1Head) }
    /// The body bytes of every data event, joined.
    var body: String { self.compactMap(\.http1Data).map(\.text).joined() }
    /// How many data events had endStream.
    var bodyEnds: Int { self.compactMap(\.http1Data).filter(\.endStream).count }
    var http1ConnectionError: HTTP2ConnectionError? { self.lazy.compactMap(\.http1ConnectionError).first }
}
