/// Writes JSON values as text: indented two spaces per level (as `jq` and grpcurl print), or
/// on one line.
package enum JSONWriter {
    /// `value` as JSON text; `indented` puts each member and element on a line of its own.
    package static func write(_ value: JSONValue, indented: Bool = true) -> String {
        var output = ""
        self.write(value, indented: indented, level: 0, into: &output)
        return output
    }

    private static func write(_ value: JSONValue, indented: Bool, level: Int, into output: inout String) {
        switch value {
        case .null:
            output += "null"
        case .bool(let flag):
            output += flag ? "true" : "false"
        case .number(let text):
            output += text
        case .string(let text):
            output += self.quoted(text)
        case .array(let elements):
            guard !elements.isEmpty else {
                output += "[]"
                return
            }
            output += "["
            for (offset, element) in elements.enumerated() {
                output += offset == 0 ? "" : ","
                self.newline(indented: indented, level: level + 1, into: &output)
                self.write(element, indented: indented, level: level + 1, into: &output)
            }
            self.newline(indented: indented, level: level, into: &output)
            output += "]"
        case .object(let members):
            guard !members.isEmpty else {
                output += "{}"
                return
            }
            output += "{"
            for (offset, member) in members.enumerated() {
                output += offset == 0 ? "" : ","
                self.newline(indented: indented, level: level + 1, into: &output)
                output += self.quoted(member.key)
                output += indented ? ": " : ":"
                self.write(member.value, indented: indented, level: level + 1, into: &output)
            }
            self.newline(indented: indented, level: level, into: &output)
            output += "}"
        }
    }

    private static func newline(indented: Bool, level: Int, into output: inout String) {
        guard indented else { return }
        output += "\n"
        output += String(repeating: "  ", count: level)
    }

    /// `text` as a JSON string literal: quotes, backslashes and control characters escaped.
    package static func quoted(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case "\u{00}"..."\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}":
                let hex = String(scalar.value, radix: 16, uppercase: false)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
        return output
    }
}
