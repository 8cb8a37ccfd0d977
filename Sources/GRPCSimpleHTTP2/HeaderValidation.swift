import NIOHPACK

/// The checks RFC 9113 §8.2-8.3 asks of a request's header section and of trailers, in one
/// pass over the decoded fields (malformed: a stream error of type PROTOCOL_ERROR, §8.1.1).
///
/// Requests: pseudo-header fields first, each at most once, only :method, :scheme, :path,
/// :authority, the first three present, :path not empty; field names are lowercase tokens;
/// no connection-specific fields; `te` only as "trailers"; no CR, LF or NUL in any value (and
/// no whitespace or controls in pseudo-header values); `content-length` digits only, repeated
/// values equal. Trailers: no pseudo-header fields, the same name and value rules. The same rules NIOHTTP2 applies by default.
public enum HeaderValidation {
    /// What a well-formed request header section tells the transport.
    public struct Request: Sendable, Equatable {
        /// The :path pseudo-header.
        public var path: String
        /// The `content-length` field, when present: the DATA the request must carry (§8.1.1).
        public var contentLength: Int?
    }

    /// The request's :path and content-length when the header section is well formed, nil
    /// when it is malformed.
    public static func request(_ headers: HPACKHeaders) -> Request? {
        var seen: UInt8 = 0  // bits: 1 :method, 2 :scheme, 4 :path, 8 :authority
        var regular = false
        var path: String?
        var contentLength: Int?
        for (name, value, _) in headers {
            guard let first = name.utf8.first else { return nil }
            if first == UInt8(ascii: ":") {
                guard !regular else { return nil }
                let bit: UInt8
                switch name {
                case ":method": bit = 1
                case ":scheme": bit = 2
                case ":path":
                    bit = 4
                    guard !value.isEmpty else { return nil }
                    path = value
                case ":authority": bit = 8
                default: return nil
                }
                guard seen & bit == 0, isValidPseudoHeaderValue(value) else { return nil }
                seen |= bit
            } else {
                regular = true
                guard isValidFieldName(name), isValidFieldValue(value) else { return nil }
                guard !isConnectionSpecific(name, value: value) else { return nil }
                if name.utf8.count == 14, name == "content-length" {
                    // Repeated values must agree (RFC 9110 §8.6).
                    guard let length = parseContentLength(value), contentLength == nil || contentLength == length
                    else { return nil }
                    contentLength = length
                }
            }
        }
        guard seen & 7 == 7, let path else { return nil }
        return Request(path: path, contentLength: contentLength)
    }

    /// A content-length value: ASCII digits only, at most 18 of them (no overflow).
    static func parseContentLength(_ value: String) -> Int? {
        let digits = value.utf8
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var length = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            length = length * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return length
    }

    /// Whether a trailer section (a second HEADERS of a request) is well formed.
    public static func isValidTrailers(_ headers: HPACKHeaders) -> Bool {
        for (name, value, _) in headers {
            guard isValidFieldName(name), isValidFieldValue(value),
                !isConnectionSpecific(name, value: value)
            else { return false }
        }
        return true
    }

    /// A lowercase `token` (RFC 9110 §5.1): no colon, so no pseudo-header field either.
    private static func isValidFieldName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            guard !bytes.isEmpty else { return false }
            for byte in bytes {
                switch byte {
                case 0x21, 0x23...0x27, 0x2a, 0x2b, 0x2d, 0x2e, 0x30...0x39, 0x5e...0x7a, 0x7c, 0x7e:
                    continue
                default:
                    return false
                }
            }
            return true
        }
    }

    /// No CR, LF or NUL (§8.2.1).
    private static func isValidFieldValue(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            for byte in bytes where byte == 0x00 || byte == 0x0a || byte == 0x0d {
                return false
            }
            return true
        }
    }

    /// No whitespace or controls (§8.3).
    private static func isValidPseudoHeaderValue(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            for byte in bytes where byte <= 0x20 || byte == 0x7f {
                return false
            }
            return true
        }
    }

    /// Connection-specific fields (§8.2.2), told apart by length before comparing.
    private static func isConnectionSpecific(_ name: String, value: String) -> Bool {
        switch name.utf8.count {
        case 2: return name == "te" && value != "trailers"
        case 7: return name == "upgrade"
        case 10: return name == "connection" || name == "keep-alive"
        case 16: return name == "proxy-connection"
        case 17: return name == "transfer-encoding"
        default: return false
        }
    }
}
