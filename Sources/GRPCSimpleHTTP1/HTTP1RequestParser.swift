import NIOCore

/// A strict HTTP/1.1 request parser (RFC 9112) as a state machine over a `ByteBuffer` the
/// caller owns: each call consumes what it can and returns what it found (a request head, a
/// piece of body, the end of a body), or nil when it needs more bytes. The caller decides
/// when to ask for a head (`nextHead`) and when for body (`nextBody`), which is how
/// `HTTP1ServerConnection` pipelines one request at a time and applies back-pressure.
///
/// Choices, all on the strict side (the parser sits in front of a gRPC server, not of a
/// website, and lenient framing is where request smuggling lives):
/// - Every line ends with CRLF: a bare LF (which RFC 9112 §2.2 allows a server to accept) is
///   rejected with 400, as is a bare CR anywhere.
/// - Empty lines before a request line are skipped (RFC 9112 §2.2 asks for at least one).
/// - The request line is exactly `method SP target SP version`: a token method, a target of
///   visible ASCII (passed on as is: origin-, absolute-, authority- or asterisk-form),
///   `HTTP/1.1` or `HTTP/1.0`; another `HTTP/x.y` is 505.
/// - Field names are tokens followed straight by the colon (no whitespace before it: 400, RFC
///   9112 §5.1), values are trimmed of SP and HTAB and may hold obs-text but no control
///   character; obs-fold (a line starting with whitespace) is 400. Values are decoded as UTF-8,
///   invalid sequences replaced.
/// - Chunk sizes are hexadecimal, at most `maxChunkSizeDigits` digits; chunk extensions are
///   skipped (bounded by `maxChunkLineLength`); the trailer section is bounded and ignored.
/// Errors are thrown once and leave the parser in a state the caller must not use again.
struct HTTP1RequestParser: Sendable {
    /// What the parser reads next.
    private enum State: Equatable, Sendable {
        case requestLine
        case headerFields
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
    }

    private let limits: HTTP1ServerConfiguration
    private var state = State.requestLine
    /// The head being read (request line done, fields so far).
    private var head: HTTP1RequestHead?
    /// Bytes at the front of the current line already searched for its LF, so that a line
    /// arriving a byte at a time costs linear time.
    private var scanned = 0
    /// Bytes of the header or trailer section consumed so far.
    private var sectionBytes = 0

    init(limits: HTTP1ServerConfiguration) {
        self.limits = limits
    }

    /// Whether the next thing to read is a request line (no request is partly read).
    var isAtMessageStart: Bool { self.state == .requestLine }
    /// Whether a request head is partly read (its request line is done).
    var isInHead: Bool { self.state == .headerFields }
    /// The body bytes still to come when the body has a content-length; nil otherwise.
    var remainingFixedBody: Int? {
        if case .fixedBody(let remaining) = self.state { return remaining }
        return nil
    }

    // MARK: - Head

    /// The next request head, once all of it is in; nil if more bytes are needed. Only while
    /// no body is being read (`isAtMessageStart` or `isInHead`).
    mutating func nextHead(
        from buffer: inout ByteBuffer
    ) throws(HTTP1ParseError) -> (head: HTTP1RequestHead, summary: HTTP1RequestHead.Summary)? {
        while true {
            switch self.state {
            case .requestLine:
                while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
                    buffer.moveReaderIndex(forwardBy: 2)
                }
                guard
                    let length = try self.nextLineLength(
                        in: buffer,
                        limit: self.limits.maxRequestLineLength,
                        overLimit: HTTP1ParseError(414, "request line too long")
                    )
                else { return nil }
                let line = buffer.readSlice(length: length)!
                buffer.moveReaderIndex(forwardBy: 2)
                self.head = try Self.parseRequestLine(line)
                self.state = .headerFields
                self.sectionBytes = 0

            case .headerFields:
                let budget = self.limits.maxHeaderSectionSize - self.sectionBytes
                guard
                    let length = try self.nextLineLength(
                        in: buffer,
                        limit: budget - 2,
                        overLimit: HTTP1ParseError(431, "header section too large")
                    )
                else { return nil }
                let line = buffer.readSlice(length: length)!
                buffer.moveReaderIndex(forwardBy: 2)
                self.sectionBytes += length + 2
                if length == 0 {
                    guard let head = self.head else { throw .badRequest("no request line") }
                    self.head = nil
                    let summary = try head.validate()
                    switch summary.body {
                    case .none: self.state = .requestLine
                    case .length(let length): self.state = .fixedBody(remaining: length)
                    case .chunked: self.state = .chunkSize
                    }
                    return (head, summary)
                }
                guard (self.head?.fields.count ?? 0) < self.limits.maxHeaderFields else {
                    throw HTTP1ParseError(431, "too many header fields")
                }
                let field = try Self.parseField(line)
                self.head?.fields.append(field)

            case .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers:
                return nil
            }
        }
    }

    // MARK: - Body

    /// The next piece of the current request's body, at most `maxBytes` long (0: only framing
    /// is read, no data), with whether it ends the body; nil if more bytes are needed, or no
    /// body is being read. A chunked body ends with an empty piece once its trailer section is
    /// read.
    mutating func nextBody(from buffer: inout ByteBuffer, maxBytes: Int) throws(HTTP1ParseError) -> (
        data: ByteBuffer, end: Bool
    )? {
        while true {
            switch self.state {
            case .fixedBody(let remaining):
                guard maxBytes > 0, buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes, maxBytes)
                let data = buffer.readSlice(length: count)!
                if count == remaining {
                    self.state = .requestLine
                    return (data, true)
                }
                self.state = .fixedBody(remaining: remaining - count)
                return (data, false)

            case .chunkSize:
                guard
                    let length = try self.nextLineLength(
                        in: buffer,
                        limit: self.limits.maxChunkLineLength,
                        overLimit: .badRequest("chunk-size line too long")
                    )
                else { return nil }
                let line = buffer.readSlice(length: length)!
                buffer.moveReaderIndex(forwardBy: 2)
                let size = try self.parseChunkSize(line)
                if size == 0 {
                    self.state = .trailers
                    self.sectionBytes = 0
                } else {
                    self.state = .chunkData(remaining: size)
                }

            case .chunkData(let remaining):
                guard maxBytes > 0, buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes, maxBytes)
                let data = buffer.readSlice(length: count)!
                self.state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
                return (data, false)

            case .chunkDataEnd:
                let view = buffer.readableBytesView
                if let first = view.first, first != HTTP1Syntax.cr {
                    throw .badRequest("chunk data not followed by CRLF")
                }
                guard view.count >= 2 else { return nil }
                guard view[view.startIndex + 1] == HTTP1Syntax.lf else {
                    throw .badRequest("chunk data not followed by CRLF")
                }
                buffer.moveReaderIndex(forwardBy: 2)
                self.state = .chunkSize

            case .trailers:
                let budget = self.limits.maxTrailerSectionSize - self.sectionBytes
                guard
                    let length = try self.nextLineLength(
                        in: buffer,
                        limit: budget - 2,
                        overLimit: .badRequest("trailer section too large")
                    )
                else { return nil }
                let line = buffer.readSlice(length: length)!
                buffer.moveReaderIndex(forwardBy: 2)
                self.sectionBytes += length + 2
                if length == 0 {
                    self.state = .requestLine
                    return (ByteBuffer(), true)
                }
                _ = try Self.parseField(line)  // checked like a header field, then ignored

            case .requestLine, .headerFields:
                return nil
            }
        }
    }

    // MARK: - Lines

    /// The length (without CRLF) of the line at the front of `buffer` once its LF is in; nil
    /// before. Throws `overLimit` once the line is known to be longer than `limit`, and 400 for
    /// an LF without a CR before it. Searches no byte twice (`scanned`) and no further than the
    /// limit allows.
    private mutating func nextLineLength(
        in buffer: ByteBuffer,
        limit: Int,
        overLimit: HTTP1ParseError
    ) throws(HTTP1ParseError) -> Int? {
        let limit = min(limit, Int.max - 2)  // a configured limit of Int.max cannot overflow
        let view = buffer.readableBytesView
        let searchLength = max(0, min(view.count, limit + 2))
        let from = view.startIndex + min(self.scanned, searchLength)
        let end = view.startIndex + searchLength
        guard let lf = view[from..<end].firstIndex(of: HTTP1Syntax.lf) else {
            self.scanned = searchLength
            if view.count >= limit + 2 { throw overLimit }
            return nil
        }
        self.scanned = 0
        guard lf > view.startIndex, view[lf - 1] == HTTP1Syntax.cr else { throw .badRequest("bare LF") }
        let length = lf - 1 - view.startIndex
        guard length <= limit else { throw overLimit }
        return length
    }

    /// `method SP request-target SP HTTP-version`.
    private static func parseRequestLine(_ line: ByteBuffer) throws(HTTP1ParseError) -> HTTP1RequestHead {
        let bytes = line.readableBytesView
        guard let firstSpace = bytes.firstIndex(of: HTTP1Syntax.space) else {
            throw .badRequest("malformed request line")
        }
        let method = bytes[bytes.startIndex..<firstSpace]
        guard !method.isEmpty, method.allSatisfy(HTTP1Syntax.isTokenCharacter) else {
            throw .badRequest("invalid method")
        }
        let afterMethod = bytes[(firstSpace + 1)...]
        guard let secondSpace = afterMethod.firstIndex(of: HTTP1Syntax.space) else {
            throw .badRequest("malformed request line")
        }
        let target = bytes[(firstSpace + 1)..<secondSpace]
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badRequest("invalid request target")
        }
        let version = Array(bytes[(secondSpace + 1)...])
        let isHTTP10: Bool
        switch version {
        case Array("HTTP/1.1".utf8): isHTTP10 = false
        case Array("HTTP/1.0".utf8): isHTTP10 = true
        default:
            let digit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
            if version.count == 8, version.starts(with: "HTTP/".utf8), digit(version[5]),
                version[6] == UInt8(ascii: "."), digit(version[7])
            {
                throw HTTP1ParseError(505, "unsupported HTTP version")
            }
            throw .badRequest("invalid HTTP version")
        }
        return HTTP1RequestHead(
            method: String(decoding: method, as: UTF8.self),
            target: String(decoding: target, as: UTF8.self),
            isHTTP10: isHTTP10
        )
    }

    /// `field-name ":" OWS field-value OWS`, the name lowercased, the value trimmed.
    private static func parseField(_ line: ByteBuffer) throws(HTTP1ParseError) -> (name: String, value: String) {
        let bytes = line.readableBytesView
        if let first = bytes.first, HTTP1Syntax.isWhitespace(first) {
            throw .badRequest("obsolete line folding")
        }
        guard let colon = bytes.firstIndex(of: HTTP1Syntax.colon) else {
            throw .badRequest("header field without a colon")
        }
        let name = bytes[bytes.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(HTTP1Syntax.isTokenCharacter) else {
            throw .badRequest("invalid header field name")
        }
        var value = bytes[(colon + 1)...]
        while let first = value.first, HTTP1Syntax.isWhitespace(first) { value.removeFirst() }
        while let last = value.last, HTTP1Syntax.isWhitespace(last) { value.removeLast() }
        guard value.allSatisfy(HTTP1Syntax.isFieldValueCharacter) else {
            throw .badRequest("invalid header field value")
        }
        return (
            String(decoding: name.lazy.map(HTTP1Syntax.lowercased), as: UTF8.self),
            String(decoding: value, as: UTF8.self)
        )
    }

    /// `chunk-size [ BWS ";" chunk-ext ]`: the size; the extensions are skipped.
    private func parseChunkSize(_ line: ByteBuffer) throws(HTTP1ParseError) -> Int {
        let bytes = line.readableBytesView
        let maxDigits = min(self.limits.maxChunkSizeDigits, 15)
        var size = 0
        var index = bytes.startIndex
        while index < bytes.endIndex, let digit = HTTP1Syntax.hexValue(bytes[index]) {
            guard index - bytes.startIndex < maxDigits else { throw .badRequest("chunk size too large") }
            size = size << 4 | digit
            index += 1
        }
        guard index > bytes.startIndex else { throw .badRequest("invalid chunk size") }
        guard index < bytes.endIndex else { return size }
        var extensions = bytes[index...]
        while let first = extensions.first, HTTP1Syntax.isWhitespace(first) { extensions.removeFirst() }
        guard extensions.first == HTTP1Syntax.semicolon, extensions.allSatisfy(HTTP1Syntax.isFieldValueCharacter)
        else { throw .badRequest("invalid chunk extension") }
        return size
    }
}
