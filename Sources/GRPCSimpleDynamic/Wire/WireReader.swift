/// Reads protobuf binary encoding: tags, varints, fixed-width values and length-delimited
/// bytes, refusing truncated or malformed input with `WireFormatError`.
package struct WireReader: Sendable {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    /// A reader of `bytes`, from their start.
    package init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    /// Whether everything has been read.
    package var isAtEnd: Bool { self.index >= self.bytes.endIndex }

    /// The next field's number and wire type, or nil at the end.
    package mutating func nextTag() throws(WireFormatError) -> (number: Int32, wireType: WireType)? {
        guard !self.isAtEnd else { return nil }
        let key = try self.varint()
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw WireFormatError("a field has the unknown wire type \(key & 7)")
        }
        let number = key >> 3
        guard number >= 1, number <= 536_870_911 else { throw WireFormatError("a field has the number \(number)") }
        return (Int32(number), wireType)
    }

    /// A base-128 varint of at most ten bytes.
    package mutating func varint() throws(WireFormatError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard self.index < self.bytes.endIndex else { throw WireFormatError("a varint is cut short") }
            let byte = self.bytes[self.index]
            self.index += 1
            guard shift < 64 else { throw WireFormatError("a varint is longer than ten bytes") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// Four bytes, little-endian.
    package mutating func fixed32() throws(WireFormatError) -> UInt32 {
        guard self.bytes.endIndex - self.index >= 4 else { throw WireFormatError("a 32-bit value is cut short") }
        var value: UInt32 = 0
        for offset in 0..<4 { value |= UInt32(self.bytes[self.index + offset]) << (8 * offset) }
        self.index += 4
        return value
    }

    /// Eight bytes, little-endian.
    package mutating func fixed64() throws(WireFormatError) -> UInt64 {
        guard self.bytes.endIndex - self.index >= 8 else { throw WireFormatError("a 64-bit value is cut short") }
        var value: UInt64 = 0
        for offset in 0..<8 { value |= UInt64(self.bytes[self.index + offset]) << (8 * offset) }
        self.index += 8
        return value
    }

    /// A length, then that many bytes.
    package mutating func lengthDelimited() throws(WireFormatError) -> ArraySlice<UInt8> {
        let length = try self.varint()
        guard length <= UInt64(self.bytes.endIndex - self.index) else {
            throw WireFormatError("a length-delimited value of \(length) bytes is cut short")
        }
        let start = self.index
        self.index += Int(length)
        return self.bytes[start..<self.index]
    }

    /// The bytes of a group's fields, up to its end tag (which is consumed).
    package mutating func group(_ number: Int32) throws(WireFormatError) -> ArraySlice<UInt8> {
        let start = self.index
        while true {
            let fieldStart = self.index
            guard let (fieldNumber, wireType) = try self.nextTag() else {
                throw WireFormatError("group \(number) has no end")
            }
            if wireType == .endGroup {
                guard fieldNumber == number else {
                    throw WireFormatError("group \(number) ends with the end of group \(fieldNumber)")
                }
                return self.bytes[start..<fieldStart]
            }
            try self.skip(wireType, number: fieldNumber)
        }
    }

    /// Skips the value of a field of `wireType` (an unknown field).
    package mutating func skip(_ wireType: WireType, number: Int32) throws(WireFormatError) {
        switch wireType {
        case .varint: _ = try self.varint()
        case .fixed64: _ = try self.fixed64()
        case .lengthDelimited: _ = try self.lengthDelimited()
        case .fixed32: _ = try self.fixed32()
        case .startGroup: _ = try self.group(number)
        case .endGroup: throw WireFormatError("an end of group \(number) without its start")
        }
    }

    /// ZigZag decoding (`sint32`, `sint64`).
    package static func unZigZag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }
}
