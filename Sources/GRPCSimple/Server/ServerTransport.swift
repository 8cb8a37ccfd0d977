import GRPCSimpleHTTP1
import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK

/// What a server connection needs of the protocol under it: bytes in, events out; responses
/// in, bytes out. HTTP/2 (`HTTP2ServerConnection`) and HTTP/1.1 (`HTTP1ServerConnection`) are
/// both sans-I/O state machines with this shape, so one `ServerConnectionHandler` drives
/// either, specialised for each.
protocol ServerTransport: Sendable {
    /// Our first bytes (HTTP/2's SETTINGS; nothing for HTTP/1.1).
    mutating func start()
    /// Bytes the client sent.
    mutating func receive(_ bytes: ByteBuffer, now: NIODeadline)
    /// The client closed its side of the connection.
    mutating func receiveEndOfInput()
    /// The next thing the client's bytes say, if any.
    mutating func nextEvent() -> HTTP2ServerEvent?
    /// The application read `bytes` of a request's body: more may come.
    mutating func dataConsumed(streamID: UInt32, bytes: Int)
    /// Response headers.
    @discardableResult mutating func sendHeaders(streamID: UInt32, headers: HPACKHeaders) -> Bool
    /// Response body.
    @discardableResult mutating func sendData(streamID: UInt32, data: ByteBuffer) -> Bool
    /// The end of a response (a whole response when no headers were sent).
    @discardableResult mutating func sendTrailers(streamID: UInt32, trailers: HPACKHeaders) -> Bool
    /// Ends a request before its time.
    mutating func resetStream(streamID: UInt32, code: HTTP2ErrorCode)
    /// A keepalive probe, where the protocol has one.
    mutating func sendPing(opaque: UInt64)
    /// No new requests; the connection closes once the current ones are answered.
    mutating func startDraining(lastStreamID: UInt32?, debugData: ByteBuffer?)
    /// Ends the connection now.
    mutating func abort(code: HTTP2ErrorCode, debugData: ByteBuffer?)
    /// The bytes to write.
    mutating func takeOutput() -> ByteBuffer

    var hasOutput: Bool { get }
    var isClosed: Bool { get }
    var activeStreams: Int { get }
    /// Response bytes of a stream still waiting for the client's flow-control window.
    func bufferedOutputBytes(streamID: UInt32) -> Int
    /// The client has shown it speaks the protocol (HTTP/2: its SETTINGS; HTTP/1.1: a
    /// whole request head): the handshake timeout no longer applies.
    var handshakeComplete: Bool { get }
    /// Whether the transport can take more input now; while false, the connection stops
    /// reading the socket (HTTP/1.1 has no flow control of its own to stop a client).
    var wantsMoreInput: Bool { get }
    /// Whether requests run side by side (HTTP/2), or one at a time (HTTP/1.1: the next
    /// request is read once the current response is complete, and there are no PINGs).
    static var multiplexes: Bool { get }
    /// Part of a request head (or of a rejected request's body) is in, and nothing is being
    /// served: a client that stops here is holding the connection (slowloris).
    var hasPartialRequest: Bool { get }
}

extension HTTP2ServerConnection: ServerTransport {
    var handshakeComplete: Bool { self.receivedClientSettings }
    /// HTTP/2's flow control bounds what a client may send.
    var wantsMoreInput: Bool { true }
    static var multiplexes: Bool { true }
    /// HTTP/2 bounds a stalled preface with the handshake timeout, and streams cost a slot.
    var hasPartialRequest: Bool { false }
}

extension HTTP1ServerConnection: ServerTransport {
    var handshakeComplete: Bool { self.receivedRequest }
    /// Reading stops while more than a window and a request head wait unparsed.
    var wantsMoreInput: Bool { self.bufferedInputBytes <= self.configuration.receiveWindow + 16 * 1024 }
    static var multiplexes: Bool { false }
    /// HTTP/1.1 has no PING; keepalive is off on these connections.
    mutating func sendPing(opaque: UInt64) {}
}
