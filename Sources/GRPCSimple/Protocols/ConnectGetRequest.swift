import NIOCore

/// A Connect unary call made with HTTP GET (connectrpc.com/docs/protocol, "Unary-Get-Request"):
/// the message travels in the query, so browsers and CDNs can cache the answer. Only methods
/// whose `.proto` says `idempotency_level = NO_SIDE_EFFECTS` take it.
///
/// `GET /pkg.Service/Method?connect=v1&encoding=json&message=%7B%7D[&base64=1][&compression=gzip]`
struct ConnectGetRequest: Equatable {
    /// The path without the query, to route.
    var path: String
    var codec: MessageCodec
    /// How the message is compressed (`compression`).
    var compressionName: String?
    /// The request message's bytes, still compressed when `compressionName` says so.
    var message: [UInt8]

    /// What is wrong with a query, for an INVALID_ARGUMENT (or, for an unknown `encoding`,
    /// HTTP 415).
    struct Failure: Error, Equatable {
        var message: String
        var unsupportedMediaType = false
    }

    /// Reads `:path` (`/service/method?query`). Parameters are percent-decoded (`+` is a space);
    /// `message` is base64 (URL-safe or standard, padded or not) when `base64=1`.
    static func parse(_ pathAndQuery: String) -> Result<ConnectGetRequest, Failure> {
        let path: Substring
        let query: Substring
        if let mark = pathAndQuery.firstIndex(of: "?") {
            path = pathAndQuery[..<mark]
            query = pathAndQuery[pathAndQuery.index(after: mark)...]
        } else {
            path = Substring(pathAndQuery)
            query = ""
        }
        var parameters: [String: [UInt8]] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.percentDecoded(parts[0]),
                let value = Self.percentDecoded(parts.count > 1 ? parts[1] : "")
            else {
                return .failure(Failure(message: "the query parameter '\(pair.prefix(64))' is not percent-encoded"))
            }
            let key = String(decoding: name, as: UTF8.self)
            // The first of a repeated parameter counts, as Go's url.Values.Get.
            if parameters[key] == nil { parameters[key] = value }
        }
        func text(_ name: String) -> String? { parameters[name].map { String(decoding: $0, as: UTF8.self) } }
        if let version = text("connect"), version != "v1" {
            return .failure(Failure(message: "the query parameter connect must be v1, got '\(version.prefix(64))'"))
        }
        let codec: MessageCodec
        switch text("encoding") {
        case "proto": codec = .protobuf
        case "json": codec = .json
        case nil:
            return .failure(
                Failure(message: "a Connect GET request needs the query parameter encoding (proto or json)"))
        case let other?:
            return .failure(
                Failure(
                    message: "the encoding '\(other.prefix(64))' is not supported (proto or json)",
                    unsupportedMediaType: true))
        }
        guard var message = parameters["message"] else {
            return .failure(Failure(message: "a Connect GET request needs the query parameter message"))
        }
        if text("base64") == "1" {
            guard let decoded = Base64.decode(Substring(String(decoding: message, as: UTF8.self))) else {
                return .failure(Failure(message: "the query parameter message is not base64 (base64=1)"))
            }
            message = decoded
        }
        return .success(
            ConnectGetRequest(path: String(path), codec: codec, compressionName: text("compression"), message: message))
    }

    /// `%XX` and `+` decoded to bytes; nil for a `%` without two hex digits.
    private static func percentDecoded(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(PercentEncoding.hexValue),
                    let low = iterator.next().flatMap(PercentEncoding.hexValue)
                else { return nil }
                out.append(high << 4 | low)
            default:
                out.append(byte)
            }
        }
        return out
    }
}
