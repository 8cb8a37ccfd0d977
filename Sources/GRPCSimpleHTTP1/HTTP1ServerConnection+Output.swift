import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK

extension HTTP1ServerConnection {
    /// Writes the response head: `HTTP/1.1 <:status> <reason>`, every field that is not a
    /// pseudo-header nor hop-by-hop, then the framing: `transfer-encoding: chunked` unless the
    /// headers have a `content-length` (then the body is written raw and must add up to it),
    /// nothing for a response without a body (to HEAD, 204, 304), and for an HTTP/1.0 client
    /// without content-length a raw body that ends when the connection closes. Adds
    /// `connection: close` when the connection will close after this response (draining, the
    /// client asked for it, HTTP/1.0 without keep-alive, the client's input ended), and
    /// `connection: keep-alive` to an HTTP/1.0 client whose connection stays open.
    ///
    /// False, and nothing written, if `streamID` is not the current request, its response
    /// has started, `:status` is missing or not a final status (200-999: informational
    /// responses are not supported), the content-length is not a number, or a field name or
    /// value could split the response (a name that is not a token, a value with CR, LF or
    /// another control character).
    @discardableResult
    public mutating func sendHeaders(streamID: UInt32, headers: HPACKHeaders) -> Bool {
        guard self.lifecycle != .closed, var request = self.current, request.streamID == streamID,
            request.response == .notStarted,
            let status = Self.status(in: headers), status >= 200, Self.fieldsAreValid(headers)
        else { return false }
        let framing: HTTP1CurrentRequest.ResponseFraming
        if request.isHEAD || status == 204 || status == 304 {
            framing = .none
        } else if let value = headers.first(name: "content-length") {
            guard let length = Self.contentLength(value) else { return false }
            framing = .length(remaining: length)
        } else if request.isHTTP10 {
            framing = .untilClose
            request.keepAlive = false
        } else {
            framing = .chunked
        }
        if self.lifecycle == .draining || self.inputEnded { request.keepAlive = false }
        self.writeHead(status: status, fields: headers, request: request)
        if framing == .chunked { self.writeASCII("transfer-encoding: chunked\r\n") }
        self.writeASCII("\r\n")
        request.response = .headWritten(framing)
        self.current = request
        return true
    }

    /// Writes response body: a chunk, or raw bytes after a content-length (or for an HTTP/1.0
    /// client). An empty buffer writes nothing. False if the response head is not written or
    /// the response is complete, if the bytes would go past the content-length (nothing is
    /// written then), or if the response has no body.
    @discardableResult
    public mutating func sendData(streamID: UInt32, data: ByteBuffer) -> Bool {
        guard self.lifecycle != .closed, let request = self.current, request.streamID == streamID,
            case .headWritten(let framing) = request.response
        else { return false }
        let count = data.readableBytes
        guard count > 0 else { return true }
        switch framing {
        case .chunked:
            self.reserveOutput(count + 16)
            self.outbound.writeString(String(count, radix: 16))
            self.outbound.writeStaticString("\r\n")
            self.outbound.writeImmutableBuffer(data)
            self.outbound.writeStaticString("\r\n")
        case .length(let remaining):
            guard count <= remaining else { return false }
            self.reserveOutput(count)
            self.outbound.writeImmutableBuffer(data)
            self.current?.response = .headWritten(.length(remaining: remaining - count))
        case .untilClose:
            self.reserveOutput(count)
            self.outbound.writeImmutableBuffer(data)
        case .none:
            return false
        }
        return true
    }

    /// Completes the response.
    /// - After `sendHeaders`: a chunked response gets its last chunk (`0`), the trailer fields
    ///   (the valid ones that are neither pseudo-headers, hop-by-hop nor framing fields) and
    ///   the empty line; any other framing drops the trailers. A content-length body that fell
    ///   short of its length closes the connection, so that the client sees it cut short.
    /// - Without `sendHeaders` (a trailers-only answer): the block is the whole response. It
    ///   holds `:status` (200 when it does not), and is written with `content-length: 0`
    ///   unless it has a content-length (or the status allows no body).
    /// Then the next request can be read (or the rest of this one's body thrown away first),
    /// or the connection closes if it is to. False if `streamID` is not the current request or
    /// its response is complete, or (trailers-only) for the reasons `sendHeaders` gives.
    @discardableResult
    public mutating func sendTrailers(streamID: UInt32, trailers: HPACKHeaders) -> Bool {
        guard self.lifecycle != .closed, var request = self.current, request.streamID == streamID else { return false }
        switch request.response {
        case .complete:
            return false
        case .notStarted:
            let status = trailers.first(name: ":status") == nil ? 200 : Self.status(in: trailers)
            guard let status, status >= 200, Self.fieldsAreValid(trailers) else { return false }
            if let value = trailers.first(name: "content-length"), Self.contentLength(value) == nil { return false }
            if self.lifecycle == .draining || self.inputEnded { request.keepAlive = false }
            self.writeHead(status: status, fields: trailers, request: request)
            if trailers.first(name: "content-length") == nil, status != 204, status != 304 {
                self.writeASCII("content-length: 0\r\n")
            }
            self.writeASCII("\r\n")
        case .headWritten(let framing):
            switch framing {
            case .chunked:
                guard Self.fieldsAreValid(trailers) else { return false }
                self.writeASCII("0\r\n")
                self.writeFields(trailers)
                self.writeASCII("\r\n")
            case .length(let remaining):
                if remaining > 0 { request.keepAlive = false }
            case .untilClose, .none:
                break
            }
        }
        request.response = .complete
        self.current = request
        self.responseCompleted()
        return true
    }

    /// The current response is complete: the connection closes, or waits for the next
    /// request, or first throws away what is left of this request's body.
    private mutating func responseCompleted() {
        guard let request = self.current else { return }
        if !request.keepAlive || self.lifecycle == .draining || self.inputEnded {
            self.close()
        } else if request.bodyComplete {
            self.current = nil
        } else if let remaining = self.parser.remainingFixedBody, remaining > self.configuration.maxDiscardedBodyBytes {
            self.close()  // too much to read for nothing: the client will open a new connection
        }
    }

    /// HTTP/1.1 cannot reset one request: the connection closes once the output is written
    /// (a response cut short is how the client learns of it). `code` is unused.
    public mutating func resetStream(streamID: UInt32, code: HTTP2ErrorCode) {
        guard self.lifecycle != .closed, self.current?.streamID == streamID else { return }
        self.close()
    }

    /// Graceful shutdown: no new request is read. The current response, if its head is not
    /// written yet, gets `connection: close`; the connection closes once it completes (at once
    /// when no request is being served). `lastStreamID` and `debugData` are unused (HTTP/1.1
    /// has no GOAWAY): the request being served is always served.
    public mutating func startDraining(lastStreamID: UInt32? = nil, debugData: ByteBuffer? = nil) {
        guard self.lifecycle == .open else { return }
        self.lifecycle = .draining
        if self.current == nil || self.current?.response == .complete {
            self.close()
        }
    }

    /// Ends the connection now: nothing more is read or written; the caller writes what is in
    /// the output and closes. `code` and `debugData` are unused (HTTP/1.1 has no GOAWAY).
    public mutating func abort(code: HTTP2ErrorCode, debugData: ByteBuffer? = nil) {
        guard self.lifecycle != .closed else { return }
        self.close()
    }

    /// The bytes written since the last call, to write and flush in one go.
    public mutating func takeOutput() -> ByteBuffer {
        var output = ByteBuffer()
        swap(&output, &self.outbound)
        return output
    }

    // MARK: - Writing

    /// The error response for a request that cannot be read: the status, `connection: close`
    /// and the broken rule as a plain-text body.
    mutating func writeErrorResponse(_ error: HTTP1ParseError) {
        let body = "\(error.reason)\n"
        self.writeASCII(
            "HTTP/1.1 \(error.status) \(Self.reasonPhrase(error.status))\r\n"
                + "content-type: text/plain; charset=utf-8\r\ncontent-length: \(body.utf8.count)\r\n"
                + "connection: close\r\n\r\n\(body)"
        )
    }

    /// The status line, the fields, and `connection` as the request's keep-alive says.
    private mutating func writeHead(status: Int, fields: HPACKHeaders, request: HTTP1CurrentRequest) {
        self.writeASCII("HTTP/1.1 \(status) \(Self.reasonPhrase(status))\r\n")
        self.writeFields(fields)
        if !request.keepAlive {
            self.writeASCII("connection: close\r\n")
        } else if request.isHTTP10 {
            self.writeASCII("connection: keep-alive\r\n")
        }
    }

    /// `name: value` lines for the fields that are not pseudo-headers nor hop-by-hop.
    private mutating func writeFields(_ fields: HPACKHeaders) {
        for (name, value, _) in fields where !name.hasPrefix(":") && !Self.isHopByHop(name) {
            self.reserveOutput(name.utf8.count + value.utf8.count + 4)
            self.outbound.writeString(name)
            self.outbound.writeStaticString(": ")
            self.outbound.writeString(value)
            self.outbound.writeStaticString("\r\n")
        }
    }

    mutating func writeASCII(_ text: String) {
        self.reserveOutput(text.utf8.count)
        self.outbound.writeString(text)
    }

    private mutating func reserveOutput(_ bytes: Int) {
        if self.outbound.capacity == 0 {
            self.outbound = self.allocator.buffer(capacity: max(bytes, 1024))
        }
    }

    /// Fields the connection writes itself, or that concern one hop only.
    private static func isHopByHop(_ name: String) -> Bool {
        switch name.lowercased() {
        case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te": true
        default: false
        }
    }

    /// `:status` as a three-digit number, or nil.
    private static func status(in headers: HPACKHeaders) -> Int? {
        guard let value = headers.first(name: ":status"), value.utf8.count == 3,
            let status = Int(value), status >= 100
        else { return nil }
        return status
    }

    /// A content-length value: digits only, at most 18.
    private static func contentLength(_ value: String) -> Int? {
        guard !value.isEmpty, value.utf8.count <= 18,
            value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return Int(value)
    }

    /// Whether every non-pseudo field can be written without splitting the response.
    private static func fieldsAreValid(_ headers: HPACKHeaders) -> Bool {
        headers.allSatisfy { name, value, _ in name.hasPrefix(":") || HTTP1Syntax.isValidField(name: name, value: value)
        }
    }

    /// The reason phrase of a status code (RFC 9110 §15), or "Unknown".
    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 499: "Client Closed Request"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Unknown"
        }
    }
}
