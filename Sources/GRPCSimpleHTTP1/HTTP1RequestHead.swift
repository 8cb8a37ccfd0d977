import NIOHPACK

/// A request head as the parser read it: the request line and the header fields, names
/// lowercased, values trimmed of optional whitespace.
struct HTTP1RequestHead: Sendable {
    /// How the request's body is delimited (RFC 9112 §6.3).
    enum Body: Equatable, Sendable {
        /// No body: neither content-length nor transfer-encoding.
        case none
        /// Exactly this many bytes (content-length; 0 is `none`).
        case length(Int)
        /// Transfer-Encoding: chunked.
        case chunked
    }

    var method: String
    var target: String
    /// HTTP/1.0 rather than HTTP/1.1.
    var isHTTP10: Bool
    var fields: [(name: String, value: String)] = []

    /// What `validate` works out from the fields.
    struct Summary: Sendable {
        var body: Body
        /// Whether the connection may carry another request after this one.
        var keepAlive: Bool
        /// `expect: 100-continue` on an HTTP/1.1 request with a body.
        var expectsContinue: Bool
        /// The fields as the HTTP/2 transport would deliver them: :method, :scheme, :path,
        /// :authority, then the rest, hop-by-hop fields left out.
        var headers: HPACKHeaders
    }

    /// The framing and the event's headers, or why the request is unacceptable.
    ///
    /// Rules: `host` at most once, and required in HTTP/1.1 (RFC 9112 §3.2); content-length
    /// only digits (at most 18), one value or repeated equal values; transfer-encoding only
    /// `chunked`, once, and only in HTTP/1.1 (any other coding
    /// in the list: 501); both framings together
    /// are a smuggling attempt (RFC 9112 §6.3 allows rejecting them): 400.
    func validate() throws(HTTP1ParseError) -> Summary {
        var host: String?
        var contentLength: Int?
        var codings: [String] = []
        var sawTransferEncoding = false
        var connectionOptions: [String] = []
        var expectsContinue = false
        var others: [(String, String)] = []
        others.reserveCapacity(self.fields.count)

        for (name, value) in self.fields {
            switch name {
            case "host":
                guard host == nil else { throw .badRequest("more than one host header") }
                host = value
            case "content-length":
                for member in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let length = try Self.parseContentLength(member)
                    guard contentLength == nil || contentLength == length else {
                        throw .badRequest("conflicting content-length values")
                    }
                    contentLength = length
                }
                others.append((name, value))
            case "transfer-encoding":
                sawTransferEncoding = true
                codings += HTTP1Syntax.listMembers(value)
            case "connection":
                connectionOptions += HTTP1Syntax.listMembers(value)
            case "expect" where value.lowercased() == "100-continue":
                expectsContinue = true
            case "keep-alive", "proxy-connection", "upgrade", "te":
                break
            default:
                others.append((name, value))
            }
        }

        let body: Body
        if sawTransferEncoding {
            guard contentLength == nil else {
                throw .badRequest("both content-length and transfer-encoding")
            }
            guard !self.isHTTP10 else { throw .badRequest("transfer-encoding in an HTTP/1.0 request") }
            guard codings == ["chunked"] else {
                if codings.contains(where: { $0 != "chunked" }) {
                    throw HTTP1ParseError(501, "unsupported transfer coding")
                }
                throw .badRequest("chunked must be the one transfer coding")
            }
            body = .chunked
        } else if let contentLength, contentLength > 0 {
            body = .length(contentLength)
        } else {
            body = .none
        }
        if !self.isHTTP10, host == nil { throw .badRequest("no host header") }

        let keepAlive =
            self.isHTTP10
            ? connectionOptions.contains("keep-alive") && !connectionOptions.contains("close")
            : !connectionOptions.contains("close")

        var headers = HPACKHeaders()
        headers.reserveCapacity(others.count + 4)
        headers.add(name: ":method", value: self.method)
        headers.add(name: ":scheme", value: "http")
        headers.add(name: ":path", value: self.target)
        if let host, !host.isEmpty { headers.add(name: ":authority", value: host) }
        for (name, value) in others { headers.add(name: name, value: value) }
        return Summary(
            body: body,
            keepAlive: keepAlive,
            expectsContinue: expectsContinue && !self.isHTTP10 && body != .none,
            headers: headers
        )
    }

    /// One content-length value: 1 to 18 digits (so it fits an `Int`), no sign, no spaces
    /// inside.
    private static func parseContentLength(_ member: Substring) throws(HTTP1ParseError) -> Int {
        var digits = member.utf8[...]
        while let first = digits.first, HTTP1Syntax.isWhitespace(first) { digits.removeFirst() }
        while let last = digits.last, HTTP1Syntax.isWhitespace(last) { digits.removeLast() }
        guard !digits.isEmpty, digits.count <= 18 else { throw .badRequest("invalid content-length") }
        var length = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else {
                throw .badRequest("invalid content-length")
            }
            length = length * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return length
    }
}
