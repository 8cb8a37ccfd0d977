/// Parses one JSON document (RFC 8259, strictly: no comments, no trailing commas, UTF-8
/// only), keeping numbers as text and members in order. Errors say where, by line and column.
package struct JSONParser {
    /// Nesting deeper than this is refused rather than recursed into.
    package static let maximumDepth = 100

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Parses `text`, which must hold exactly one JSON value (whitespace around it is fine).
    package static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try Self.parse(Array(text.utf8))
    }

    /// Parses `bytes`, which must hold exactly one JSON value (whitespace around it is fine).
    package static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        guard parser.index < bytes.count else { throw parser.error("the document is empty") }
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw parser.error("unexpected \(parser.describeNext()) after the end of the document")
        }
        return value
    }

    // MARK: Values

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard let byte = self.peek() else { throw self.error("the document ends where a value was expected") }
        switch byte {
        case UInt8(ascii: "{"): return try self.parseObject()
        case UInt8(ascii: "["): return try self.parseArray()
        case UInt8(ascii: "\""): return .string(try self.parseString())
        case UInt8(ascii: "t"): return try self.parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try self.parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try self.parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try self.parseNumber())
        default: throw self.error("expected a value, found \(self.describeNext())")
        }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try self.enter()
        self.index += 1  // {
        var members: [JSONMember] = []
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "}") {
            self.index += 1
            self.depth -= 1
            return .object(members)
        }
        while true {
            self.skipWhitespace()
            guard self.peek() == UInt8(ascii: "\"") else {
                throw self.error("expected a member name in double quotes, found \(self.describeNext())")
            }
            let key = try self.parseString()
            self.skipWhitespace()
            guard self.peek() == UInt8(ascii: ":") else {
                throw self.error("expected ':' after the member name \"\(key)\", found \(self.describeNext())")
            }
            self.index += 1
            self.skipWhitespace()
            members.append(JSONMember(key, try self.parseValue()))
            self.skipWhitespace()
            switch self.peek() {
            case UInt8(ascii: ","):
                self.index += 1
            case UInt8(ascii: "}"):
                self.index += 1
                self.depth -= 1
                return .object(members)
            default:
                throw self.error("expected ',' or '}' after the member \"\(key)\", found \(self.describeNext())")
            }
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try self.enter()
        self.index += 1  // [
        var elements: [JSONValue] = []
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "]") {
            self.index += 1
            self.depth -= 1
            return .array(elements)
        }
        while true {
            self.skipWhitespace()
            elements.append(try self.parseValue())
            self.skipWhitespace()
            switch self.peek() {
            case UInt8(ascii: ","):
                self.index += 1
            case UInt8(ascii: "]"):
                self.index += 1
                self.depth -= 1
                return .array(elements)
            default:
                throw self.error("expected ',' or ']' in an array, found \(self.describeNext())")
            }
        }
    }

    private mutating func enter() throws(JSONSyntaxError) {
        self.depth += 1
        if self.depth > Self.maximumDepth {
            throw self.error("the document nests deeper than \(Self.maximumDepth) levels")
        }
    }

    private mutating func parseLiteral(_ word: String, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let expected = Array(word.utf8)
        guard self.index + expected.count <= self.bytes.count,
            Array(self.bytes[self.index..<self.index + expected.count]) == expected
        else {
            throw self.error("expected a value, found \(self.describeNext())")
        }
        self.index += expected.count
        return value
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> String {
        let start = self.index
        if self.peek() == UInt8(ascii: "-") { self.index += 1 }
        guard let first = self.peek(), Self.isDigit(first) else {
            throw self.error("expected a digit in a number, found \(self.describeNext())")
        }
        self.index += 1
        if first != UInt8(ascii: "0") {
            while let byte = self.peek(), Self.isDigit(byte) { self.index += 1 }
        }
        if self.peek() == UInt8(ascii: ".") {
            self.index += 1
            guard let byte = self.peek(), Self.isDigit(byte) else {
                throw self.error("expected a digit after the decimal point, found \(self.describeNext())")
            }
            while let byte = self.peek(), Self.isDigit(byte) { self.index += 1 }
        }
        if self.peek() == UInt8(ascii: "e") || self.peek() == UInt8(ascii: "E") {
            self.index += 1
            if self.peek() == UInt8(ascii: "+") || self.peek() == UInt8(ascii: "-") { self.index += 1 }
            guard let byte = self.peek(), Self.isDigit(byte) else {
                throw self.error("expected a digit in the exponent, found \(self.describeNext())")
            }
            while let byte = self.peek(), Self.isDigit(byte) { self.index += 1 }
        }
        return String(decoding: self.bytes[start..<self.index], as: UTF8.self)
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        self.index += 1  // "
        var scalars = String.UnicodeScalarView()
        var runStart = self.index
        func flushRun(_ parser: JSONParser, to scalars: inout String.UnicodeScalarView) throws(JSONSyntaxError) {
            guard runStart < parser.index else { return }
            guard let text = String(validating: parser.bytes[runStart..<parser.index], as: UTF8.self) else {
                throw parser.error("a string holds bytes that are not UTF-8")
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard let byte = self.peek() else { throw self.error("a string is not closed") }
            switch byte {
            case UInt8(ascii: "\""):
                try flushRun(self, to: &scalars)
                self.index += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flushRun(self, to: &scalars)
                self.index += 1
                scalars.append(try self.parseEscape())
                runStart = self.index
            case 0..<0x20:
                throw self.error("a string holds a control character (U+00\(Self.hex(byte))); escape it")
            default:
                self.index += 1
            }
        }
    }

    private mutating func parseEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        guard let byte = self.peek() else { throw self.error("a string is not closed") }
        self.index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let first = try self.parseHex4()
            if (0xD800..<0xDC00).contains(first) {
                guard self.peek() == UInt8(ascii: "\\"), self.peek(offset: 1) == UInt8(ascii: "u") else {
                    throw self.error("a \\u escape holds an unpaired surrogate")
                }
                self.index += 2
                let second = try self.parseHex4()
                guard (0xDC00..<0xE000).contains(second) else {
                    throw self.error("a \\u escape holds an unpaired surrogate")
                }
                return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(first) else {
                throw self.error("a \\u escape holds an unpaired surrogate")
            }
            return scalar
        default:
            self.index -= 1
            throw self.error("unknown escape '\\\(self.describeNext())' in a string")
        }
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = self.peek(), let digit = Self.hexValue(byte) else {
                throw self.error("expected four hex digits after \\u")
            }
            value = value << 4 | UInt32(digit)
            self.index += 1
        }
        return value
    }

    // MARK: Bytes

    private func peek(offset: Int = 0) -> UInt8? {
        self.index + offset < self.bytes.count ? self.bytes[self.index + offset] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = self.peek(), Self.isWhitespace(byte) { self.index += 1 }
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    /// The next character, for error messages: `'x'`, or `the end of the document`.
    private func describeNext() -> String {
        guard self.index < self.bytes.count else { return "the end of the document" }
        var end = self.index + 1
        while end < self.bytes.count, end - self.index < 4, self.bytes[end] & 0xC0 == 0x80 { end += 1 }
        return "'\(String(decoding: self.bytes[self.index..<end], as: UTF8.self))'"
    }

    private func error(_ reason: String) -> JSONSyntaxError {
        var line = 1
        var column = 1
        for byte in self.bytes[..<min(self.index, self.bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return JSONSyntaxError(line: line, column: column, reason: reason)
    }
}
