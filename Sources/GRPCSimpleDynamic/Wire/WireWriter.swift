/// Appends protobuf binary encoding to a byte array: tags, varints, fixed-width values and
/// length-delimited bytes.
package struct WireWriter: Sendable {
    /// What has been written.
    package private(set) var bytes: [UInt8] = []

    /// An empty writer.
    package init() {}

    /// Appends the tag of field `number` with `wireType`.
    package mutating func tag(_ number: Int32, _ wireType: WireType) {
        self.varint(UInt64(UInt32(bitPattern: number)) << 3 | UInt64(wireType.rawValue))
    }

    /// Appends `value` as a base-128 varint.
    package mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            self.bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        self.bytes.append(UInt8(value))
    }

    /// Appends four bytes, little-endian.
    package mutating func fixed32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { self.bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    /// Appends eight bytes, little-endian.
    package mutating func fixed64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { self.bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    /// Appends the length of `value` as a varint, then `value`.
    package mutating func lengthDelimited(_ value: some Collection<UInt8>) {
        self.varint(UInt64(value.count))
        self.bytes.append(contentsOf: value)
    }

    /// Appends `value` as it is.
    package mutating func raw(_ value: some Sequence<UInt8>) {
        self.bytes.append(contentsOf: value)
    }

    /// ZigZag encoding of a signed 64-bit value (`sint32`, `sint64`).
    package static func zigZag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }
}
