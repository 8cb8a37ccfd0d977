/// A JSON value as it was written. Numbers keep their text, so a 64-bit integer or an exact
/// decimal survives the trip (JSON numbers are not doubles to protobuf); objects keep their
/// members in order, duplicates included, so the transcoder can refuse a field set twice.
package enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, as written (`-12`, `1.5e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// The members in the order they were written.
    case object([JSONMember])

    /// A few words for error messages: `the number 12`, `"abc"` (shortened), `an array`.
    package var summary: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let text): return "the number \(text)"
        case .string(let text):
            let shown = text.count > 40 ? String(text.prefix(37)) + "..." : text
            return JSONWriter.quoted(shown)
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSONValue {
    /// The value of the first member named `key`, when this is an object.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }
}
