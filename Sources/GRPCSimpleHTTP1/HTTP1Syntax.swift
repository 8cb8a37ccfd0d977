/// The byte classes of RFC 9110 §5.6 and RFC 9112 that the parser and the response writer use.
enum HTTP1Syntax {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B

    /// tchar (RFC 9110 §5.6.2): the characters of a token (methods, field names).
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// field-vchar, SP and HTAB (RFC 9110 §5.5): what a field value may hold. obs-text
    /// (0x80-0xFF) is allowed; control characters (CR, LF and NUL above all) are not.
    static func isFieldValueCharacter(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= 0x20 && byte != 0x7F)
    }

    /// Whether `byte` is optional whitespace (SP or HTAB).
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    /// The value of a hexadecimal digit, or nil.
    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// ASCII lowercase of one byte.
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// Whether `name` is a non-empty token and `value` has only field-value characters: what a
    /// response field must be, so that no header can split the response.
    static func isValidField(name: String, value: String) -> Bool {
        !name.utf8.isEmpty && name.utf8.allSatisfy(isTokenCharacter) && value.utf8.allSatisfy(isFieldValueCharacter)
    }

    /// The comma-separated members of a list field (RFC 9110 §5.6.1), trimmed and lowercased;
    /// empty members are left out.
    static func listMembers(_ value: String) -> [String] {
        value.lowercased().split(separator: ",").compactMap { member in
            var member = member
            while let first = member.first, first == " " || first == "\t" { member.removeFirst() }
            while let last = member.last, last == " " || last == "\t" { member.removeLast() }
            return member.isEmpty ? nil : String(member)
        }
    }
}
