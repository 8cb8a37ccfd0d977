import SwiftProtobuf

/// A call's status as the Connect protocol writes it: a JSON object with the code's name, the
/// message and the error details (connectrpc.com/docs/protocol, "Error end-of-stream" and
/// "Unary-Error"), and, for unary calls, the HTTP status that goes with the code.
enum ConnectError {
    /// The Connect name of a code: gRPC's name in lower snake case (`invalid_argument`), with
    /// `canceled` spelled as Connect spells it.
    static func codeName(_ code: StatusCode) -> String {
        switch code {
        case .cancelled: "canceled"
        default: code.name.lowercased()
        }
    }

    /// The HTTP status of a unary error response (the specification's table, as connect-go).
    static func httpStatus(_ code: StatusCode) -> Int {
        switch code {
        case .ok: 200
        case .cancelled: 499
        case .unknown, .internal, .dataLoss: 500
        case .invalidArgument, .failedPrecondition, .outOfRange: 400
        case .deadlineExceeded: 504
        case .notFound: 404
        case .alreadyExists, .aborted: 409
        case .permissionDenied: 403
        case .resourceExhausted: 429
        case .unimplemented: 501
        case .unavailable: 503
        case .unauthenticated: 401
        }
    }

    /// The error object: `{"code":"…","message":"…","details":[{"type":"…","value":"…"}]}`.
    /// Detail values are the packed message in base64 without padding; `type` is its full
    /// name without the `type.googleapis.com/` prefix.
    static func json(_ status: Status) -> String {
        var json = "{\"code\":" + JSONText.quoted(self.codeName(status.code))
        if !status.message.isEmpty {
            json += ",\"message\":" + JSONText.quoted(status.message)
        }
        if !status.details.isEmpty {
            json += ",\"details\":["
            for (index, detail) in status.details.enumerated() {
                if index > 0 { json += "," }
                var typeName = Substring(detail.typeURL)
                if let slash = typeName.lastIndex(of: "/") { typeName = typeName[typeName.index(after: slash)...] }
                json += "{\"type\":" + JSONText.quoted(String(typeName))
                json += ",\"value\":" + JSONText.quoted(Base64.encode(Array(detail.value))) + "}"
            }
            json += "]"
        }
        return json + "}"
    }

    /// The JSON of a Connect streaming call's end-of-stream message: the error when the call
    /// failed, and the trailers as `"metadata": {"key": ["value", …]}`.
    static func endOfStreamJSON(_ status: Status, trailers: Metadata) -> String {
        var json = "{"
        if status.code != .ok {
            json += "\"error\":" + self.json(status)
        }
        if !trailers.isEmpty {
            if status.code != .ok { json += "," }
            json += "\"metadata\":" + self.metadataJSON(trailers)
        }
        return json + "}"
    }

    /// Metadata as a JSON object of arrays (binary values in base64, as in headers).
    static func metadataJSON(_ metadata: Metadata) -> String {
        var keys: [String] = []
        var values: [String: [String]] = [:]
        for entry in metadata {
            let text: String
            switch entry.value {
            case .string(let value): text = value
            case .binary(let bytes): text = Base64.encode(bytes)
            }
            if values[entry.key] == nil { keys.append(entry.key) }
            values[entry.key, default: []].append(text)
        }
        var json = "{"
        for (index, key) in keys.enumerated() {
            if index > 0 { json += "," }
            json += JSONText.quoted(key) + ":[" + values[key]!.map(JSONText.quoted).joined(separator: ",") + "]"
        }
        return json + "}"
    }
}

/// Writing JSON strings without Foundation.
enum JSONText {
    /// `text` as a JSON string literal, quotes included (RFC 8259 §7).
    static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
