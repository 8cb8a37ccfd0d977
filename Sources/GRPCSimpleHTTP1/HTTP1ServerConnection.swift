import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK

/// The server side of one HTTP/1.1 connection (RFC 9112) as a state machine, with the API of
/// `HTTP2ServerConnection`: bytes in (`receive`), events out (`nextEvent`, the same
/// `HTTP2ServerEvent`s), responses in (`sendHeaders`, `sendData`, `sendTrailers`), bytes out
/// (`takeOutput`). No I/O, no event loop, no clock. It serves gRPC-Web and the Connect
/// protocol to browsers and HTTP/1.1 clients on the gRPC port.
///
/// How HTTP/1.1 maps onto the HTTP/2 events:
/// - Each request is a stream: IDs 1, 3, 5, ... in order. Its head becomes `requestHead`
///   whose headers are `:method`, `:scheme` (`http`), `:path` (the request-target as sent),
///   `:authority` (from `host`, when there is one) and then the other fields, names
///   lowercased, without the hop-by-hop fields (`connection`, `keep-alive`,
///   `proxy-connection`, `transfer-encoding`, `upgrade`, `te`, `host`) and without
///   `expect: 100-continue`. `endStream` is true when the request has no body.
/// - The body comes as `requestData` events (tag as set with `setTag`, `flowControlledLength`
///   the piece's length); the last one has `endStream`, and may be empty when a chunked body
///   ends. Request trailers are read and ignored: there is never a `requestTrailers` event.
/// - One request at a time (pipelining): the next request's head stays buffered until the
///   current response is complete and the current request's body has fully arrived. A
///   response that completes before its request body is read in full leaves the rest of the
///   body to be read and thrown away (up to `maxDiscardedBodyBytes`, else the connection
///   closes), so the connection stays usable.
/// - Back-pressure: body bytes delivered and not given back with `dataConsumed` are bounded
///   by `receiveWindow`; past it parsing pauses and the input stays buffered
///   (`bufferedInputBytes` tells the caller when to stop reading the socket).
/// - Parsing is strict (see `HTTP1RequestParser`): lines end with CRLF (a bare LF is 400),
///   obs-fold is 400, content-length and transfer-encoding together are 400 (request
///   smuggling), a transfer coding other than chunked is 501, HTTP/1.1 needs one `host`.
/// - A malformed request, or one over a limit, is answered with an error response (400, 414,
///   431, 501 or 505, `connection: close`, a one-line plain-text body naming the rule), then
///   `connectionError(.protocolError)`, and the connection is closed. When the current
///   request's response has already started, no error response is written: the connection
///   just closes. Nothing a client sends can trap.
/// - There is no PING, SETTINGS, GOAWAY or stream reset in HTTP/1.1: `resetStream` and `abort`
///   close the connection once the output is written; `startDraining` lets the current
///   response finish with `connection: close`.
public struct HTTP1ServerConnection: Sendable {
    /// Whether the connection still reads requests.
    enum Lifecycle: Equatable, Sendable {
        case open
        /// No new request is read; the connection closes once the current response completes.
        case draining
        /// Nothing more is read or written; the output may still hold the last bytes.
        case closed
    }

    /// The limits this connection was made with.
    public let configuration: HTTP1ServerConfiguration
    let allocator: ByteBufferAllocator
    var parser: HTTP1RequestParser
    var lifecycle = Lifecycle.open
    /// Received bytes not parsed yet.
    var inbound = ByteBuffer()
    /// Bytes written since the last `takeOutput()`.
    var outbound = ByteBuffer()
    /// The client closed its side.
    var inputEnded = false
    /// The request being served.
    var current: HTTP1CurrentRequest?
    /// An event decided outside `nextEvent` (the end of the input cutting a body short).
    var pendingEvent: HTTP2ServerEvent?
    /// The stream ID of the latest request (0 before the first).
    public private(set) var highestStreamID: UInt32 = 0
    /// Whether a first request head was read completely (the end of the handshake, for the
    /// caller's handshake timer).
    public private(set) var receivedRequest = false

    /// A connection ready to read its first request.
    public init(configuration: HTTP1ServerConfiguration = .init(), allocator: ByteBufferAllocator) {
        self.configuration = configuration
        self.allocator = allocator
        self.parser = HTTP1RequestParser(limits: configuration)
    }

    // MARK: - State

    /// Whether the connection is done: write what `takeOutput` still has, then close.
    public var isClosed: Bool { self.lifecycle == .closed }
    /// Whether `startDraining` was called and the connection is waiting for the current
    /// response to complete.
    public var isDraining: Bool { self.lifecycle == .draining }
    /// 1 while a request is being served (its body is arriving or its response is not
    /// complete), else 0.
    public var activeStreams: Int { self.current == nil ? 0 : 1 }
    /// Whether `streamID` is the request being served.
    public func isActive(streamID: UInt32) -> Bool { self.current?.streamID == streamID }
    /// Whether there are bytes to write.
    public var hasOutput: Bool { self.outbound.readableBytes > 0 }
    /// Received bytes not parsed yet: a partial request, a pipelined request waiting for the
    /// current response, or body held back by the receive window. Stop reading the socket
    /// while this is large (e.g. over `receiveWindow` + 16 KiB).
    public var bufferedInputBytes: Int { self.inbound.readableBytes }
    /// Always 0: HTTP/1.1 has no flow control on output, every byte goes straight to the
    /// output (`takeOutput`).
    public func bufferedOutputBytes(streamID: UInt32) -> Int { 0 }

    /// Whether the client is in the middle of sending a request: a head partly in, or a body
    /// still arriving (and not held back by our own receive window, which is not the client's
    /// doing). The caller arms a timeout on it, against clients that send slowly on purpose.
    /// False while the connection waits for a response (a pipelined request may be buffered).
    public var hasPartialRequest: Bool {
        guard self.lifecycle != .closed else { return false }
        if let request = self.current {
            return !request.bodyComplete
                && (request.response == .complete || request.unconsumed < self.configuration.receiveWindow)
        }
        return self.lifecycle == .open && (self.inbound.readableBytes > 0 || self.parser.isInHead)
    }

    /// The same as `hasPartialRequest`, under `HTTP2ServerConnection`'s name.
    public var hasPartialInput: Bool { self.hasPartialRequest }

    // MARK: - Input

    /// Does nothing: an HTTP/1.1 server speaks only when asked. Kept for symmetry with
    /// `HTTP2ServerConnection.start()`.
    public mutating func start() {}

    /// Hands over bytes read from the client (`now` is unused: kept for symmetry). Without
    /// bytes buffered, the buffer is adopted as is (no copy). Ignored once closed.
    public mutating func receive(_ bytes: ByteBuffer, now: NIODeadline = .now()) {
        guard self.lifecycle != .closed, !self.inputEnded else { return }
        if self.inbound.readableBytes == 0 {
            self.inbound = bytes
        } else {
            var bytes = bytes
            self.inbound.writeBuffer(&bytes)
        }
    }

    /// The client closed its side. Call it once every event of the input so far has been
    /// taken (as with `HTTP2ServerConnection`); then call `nextEvent` again.
    /// - Between requests, or inside a head: the connection closes now.
    /// - Inside a body: `nextEvent` gives `streamReset(.cancel)` for the request and the
    ///   connection closes (when the body is held back by the receive window with more of it
    ///   buffered, once that rest has been delivered, if it does not complete the body).
    /// - Once the body is complete: the response is still written, then the connection closes.
    public mutating func receiveEndOfInput() {
        guard self.lifecycle != .closed else { return }
        self.inputEnded = true
        guard let request = self.current else {
            self.close()
            return
        }
        guard !request.bodyComplete else { return }
        let heldBack = request.response != .complete && request.unconsumed >= self.configuration.receiveWindow
        if !heldBack || self.inbound.readableBytes == 0 {
            self.pendingEvent = self.inputExhausted()
        }
    }

    /// The next event from the bytes received so far; nil when more bytes are needed, when the
    /// current request waits for its response or for `dataConsumed`, or once closed.
    public mutating func nextEvent() -> HTTP2ServerEvent? {
        if let event = self.pendingEvent {
            self.pendingEvent = nil
            return event
        }
        while self.lifecycle != .closed {
            do throws(HTTP1ParseError) {
                if let request = self.current {
                    guard !request.bodyComplete else { return nil }  // waiting for the response
                    let discarding = request.response == .complete
                    let allowance = discarding ? Int.max : self.configuration.receiveWindow - request.unconsumed
                    guard allowance > 0 else {
                        // Held back until dataConsumed; unless nothing more can come.
                        return self.inputEnded && self.inbound.readableBytes == 0 ? self.inputExhausted() : nil
                    }
                    guard let (data, end) = try self.parser.nextBody(from: &self.inbound, maxBytes: allowance) else {
                        return self.inputExhausted()
                    }
                    if end { self.current?.bodyComplete = true }
                    if discarding {
                        self.current?.discarded += data.readableBytes
                        if end {
                            self.current = nil
                        } else if (self.current?.discarded ?? 0) > self.configuration.maxDiscardedBodyBytes {
                            self.close()
                        }
                        continue
                    }
                    self.current?.unconsumed += data.readableBytes
                    return .requestData(
                        streamID: request.streamID,
                        tag: request.tag,
                        data: data,
                        endStream: end,
                        flowControlledLength: data.readableBytes
                    )
                }
                guard self.lifecycle == .open, self.highestStreamID < 0x7fff_fffd else {
                    self.close()  // draining (nothing more to serve), or out of stream IDs
                    return nil
                }
                guard let (head, summary) = try self.parser.nextHead(from: &self.inbound) else {
                    return self.inputExhausted()
                }
                return self.startRequest(head: head, summary: summary)
            } catch {
                return self.fail(error)
            }
        }
        return nil
    }

    /// The parser needs more bytes: with the input ended, they will not come.
    private mutating func inputExhausted() -> HTTP2ServerEvent? {
        if self.inbound.readableBytes == 0 {
            self.inbound = ByteBuffer()  // lets the channel reuse its read buffer
        }
        guard self.inputEnded else { return nil }
        guard let request = self.current else {
            self.close()
            return nil
        }
        guard !request.bodyComplete else { return nil }  // the response may still be written
        self.close()
        if request.response == .complete { return nil }  // a body being thrown away: no one to tell
        return .streamReset(streamID: request.streamID, tag: request.tag, errorCode: .cancel)
    }

    private mutating func startRequest(
        head: HTTP1RequestHead,
        summary: HTTP1RequestHead.Summary
    ) -> HTTP2ServerEvent {
        let streamID = self.highestStreamID == 0 ? 1 : self.highestStreamID + 2
        self.highestStreamID = streamID
        self.receivedRequest = true
        let endStream = summary.body == .none
        self.current = HTTP1CurrentRequest(
            streamID: streamID,
            isHTTP10: head.isHTTP10,
            isHEAD: head.method == "HEAD",
            keepAlive: summary.keepAlive,
            bodyComplete: endStream
        )
        if summary.expectsContinue {
            self.writeASCII("HTTP/1.1 100 Continue\r\n\r\n")
        }
        return .requestHead(streamID: streamID, path: head.target, headers: summary.headers, endStream: endStream)
    }

    /// A request that cannot be read: the error response (unless a response has started),
    /// then the connection error.
    private mutating func fail(_ error: HTTP1ParseError) -> HTTP2ServerEvent {
        if (self.current?.response ?? .notStarted) == .notStarted {
            self.writeErrorResponse(error)
        }
        self.close()
        return .connectionError(HTTP2ConnectionError(.protocolError, error.reason))
    }

    /// The application has read `bytes` of the request's body: that much more may be
    /// delivered. Ignored for any stream but the current request's.
    public mutating func dataConsumed(streamID: UInt32, bytes: Int) {
        guard bytes > 0, let request = self.current, request.streamID == streamID else { return }
        self.current?.unconsumed = max(0, request.unconsumed - bytes)
    }

    /// Attaches `tag` to the current request; it comes back with the request's later events.
    public mutating func setTag(_ tag: UInt8, streamID: UInt32) {
        guard self.current?.streamID == streamID else { return }
        self.current?.tag = tag
    }

    /// Nothing more is read or written (the output keeps what is in it).
    mutating func close() {
        self.lifecycle = .closed
        self.inbound = ByteBuffer()
        self.current = nil
    }
}
