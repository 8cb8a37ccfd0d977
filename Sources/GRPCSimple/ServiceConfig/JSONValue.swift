/// A JSON document, parsed: what service configs are read from (RFC 8259, without a
/// dependency on Foundation). Numbers keep their text, so a field can say what it needs.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.map(\.key) == b.map(\.key) && a.map(\.value) == b.map(\.value)
        default: false
        }
    }

    /// Why a text is not JSON, and where.
    struct ParseError: Error, CustomStringConvertible {
        var message: String
        var offset: Int
        var description: String { "\(self.message) at character \(self.offset + 1)" }
    }

    /// Parses one JSON document (nested at most 64 deep).
    static func parse(_ text: String) throws(ParseError) -> JSONValue {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else {
            throw ParseError(message: "unexpected text after the JSON value", offset: parser.index)
        }
        return value
    }

    /// The value of `key` in an object (the last one if repeated); nil for a missing key or
    /// another kind of value.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// What kind of value it is, for messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        mutating func skipWhitespace() {
            while self.index < self.bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(self.bytes[self.index]) {
                self.index += 1
            }
        }

        mutating func value(depth: Int) throws(ParseError) -> JSONValue {
            guard depth < 64 else { throw ParseError(message: "nested too deep", offset: self.index) }
            guard self.index < self.bytes.count else { throw ParseError(message: "unexpected end", offset: self.index) }
            switch self.bytes[self.index] {
            case UInt8(ascii: "{"): return try self.object(depth: depth)
            case UInt8(ascii: "["): return try self.array(depth: depth)
            case UInt8(ascii: "\""): return .string(try self.string())
            case UInt8(ascii: "t"):
                try self.literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try self.literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try self.literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try self.number())
            default: throw ParseError(message: "unexpected character", offset: self.index)
            }
        }

        mutating func literal(_ word: String) throws(ParseError) {
            let expected = Array(word.utf8)
            guard self.index + expected.count <= self.bytes.count,
                Array(self.bytes[self.index..<self.index + expected.count]) == expected
            else { throw ParseError(message: "expected \(word)", offset: self.index) }
            self.index += expected.count
        }

        mutating func number() throws(ParseError) -> String {
            let start = self.index
            if self.bytes[self.index] == UInt8(ascii: "-") { self.index += 1 }
            func digits(_ parser: inout Parser) -> Int {
                let from = parser.index
                while parser.index < parser.bytes.count, (0x30...0x39).contains(parser.bytes[parser.index]) {
                    parser.index += 1
                }
                return parser.index - from
            }
            guard digits(&self) > 0 else { throw ParseError(message: "expected a digit", offset: self.index) }
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ".") {
                self.index += 1
                guard digits(&self) > 0 else { throw ParseError(message: "expected a digit", offset: self.index) }
            }
            if self.index < self.bytes.count, self.bytes[self.index] | 0x20 == UInt8(ascii: "e") {
                self.index += 1
                if self.index < self.bytes.count,
                    [UInt8(ascii: "+"), UInt8(ascii: "-")].contains(self.bytes[self.index])
                {
                    self.index += 1
                }
                guard digits(&self) > 0 else { throw ParseError(message: "expected a digit", offset: self.index) }
            }
            return String(decoding: self.bytes[start..<self.index], as: UTF8.self)
        }

        mutating func string() throws(ParseError) -> String {
            self.index += 1  // the opening quote
            var scalars = String.UnicodeScalarView()
            var run = self.index
            func flush(_ parser: Parser, _ scalars: inout String.UnicodeScalarView, upTo end: Int) {
                scalars.append(contentsOf: String(decoding: parser.bytes[run..<end], as: UTF8.self).unicodeScalars)
            }
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                switch byte {
                case UInt8(ascii: "\""):
                    flush(self, &scalars, upTo: self.index)
                    self.index += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush(self, &scalars, upTo: self.index)
                    self.index += 1
                    guard self.index < self.bytes.count else { break }
                    let escape = self.bytes[self.index]
                    self.index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try self.hex4()
                        if (0xD800...0xDBFF).contains(code), self.index + 1 < self.bytes.count,
                            self.bytes[self.index] == UInt8(ascii: "\\"),
                            self.bytes[self.index + 1] == UInt8(ascii: "u")
                        {
                            self.index += 2
                            let low = try self.hex4()
                            guard (0xDC00...0xDFFF).contains(low) else {
                                throw ParseError(message: "invalid surrogate pair", offset: self.index)
                            }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else {
                            throw ParseError(message: "invalid \\u escape", offset: self.index)
                        }
                        scalars.append(scalar)
                    default:
                        throw ParseError(message: "invalid escape", offset: self.index - 1)
                    }
                    run = self.index
                case 0x00..<0x20:
                    throw ParseError(message: "control character in a string", offset: self.index)
                default:
                    self.index += 1
                }
            }
            throw ParseError(message: "unterminated string", offset: self.index)
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            guard self.index + 4 <= self.bytes.count,
                let code = UInt32(String(decoding: self.bytes[self.index..<self.index + 4], as: UTF8.self), radix: 16)
            else { throw ParseError(message: "invalid \\u escape", offset: self.index) }
            self.index += 4
            return code
        }

        mutating func array(depth: Int) throws(ParseError) -> JSONValue {
            self.index += 1
            var elements: [JSONValue] = []
            self.skipWhitespace()
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "]") {
                self.index += 1
                return .array(elements)
            }
            while true {
                self.skipWhitespace()
                elements.append(try self.value(depth: depth + 1))
                self.skipWhitespace()
                guard self.index < self.bytes.count else {
                    throw ParseError(message: "unterminated array", offset: self.index)
                }
                let byte = self.bytes[self.index]
                self.index += 1
                if byte == UInt8(ascii: "]") { return .array(elements) }
                guard byte == UInt8(ascii: ",") else {
                    throw ParseError(message: "expected , or ]", offset: self.index - 1)
                }
            }
        }

        mutating func object(depth: Int) throws(ParseError) -> JSONValue {
            self.index += 1
            var members: [(key: String, value: JSONValue)] = []
            self.skipWhitespace()
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "}") {
                self.index += 1
                return .object(members)
            }
            while true {
                self.skipWhitespace()
                guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\"") else {
                    throw ParseError(message: "expected a member name in quotes", offset: self.index)
                }
                let key = try self.string()
                self.skipWhitespace()
                guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ":") else {
                    throw ParseError(message: "expected :", offset: self.index)
                }
                self.index += 1
                self.skipWhitespace()
                members.append((key, try self.value(depth: depth + 1)))
                self.skipWhitespace()
                guard self.index < self.bytes.count else {
                    throw ParseError(message: "unterminated object", offset: self.index)
                }
                let byte = self.bytes[self.index]
                self.index += 1
                if byte == UInt8(ascii: "}") { return .object(members) }
                guard byte == UInt8(ascii: ",") else {
                    throw ParseError(message: "expected , or }", offset: self.index - 1)
                }
            }
        }
    }
}
