import NIOCore

/// The bytes libFuzzer hands a target, read front to back: a few leading bytes choose how the
/// rest is used (an encoding, where to split), the remainder is the data under test.
///
/// Everything derived from the input is deterministic, so a crashing input replays exactly.
public struct FuzzInput {
    /// The bytes not read yet.
    public private(set) var bytes: ArraySlice<UInt8>

    /// The input libFuzzer passed to `LLVMFuzzerTestOneInput`, copied.
    public init(_ start: UnsafeRawPointer?, _ count: Int) {
        if let start, count > 0 {
            self.bytes = ArraySlice(UnsafeRawBufferPointer(start: start, count: count))
        } else {
            self.bytes = []
        }
    }

    /// Bytes given directly (for tools and tests).
    public init(bytes: [UInt8]) {
        self.bytes = bytes[...]
    }

    /// Whether every byte has been read.
    public var isEmpty: Bool { self.bytes.isEmpty }

    /// The next byte, or 0 when the input is used up.
    public mutating func byte() -> UInt8 {
        self.bytes.popFirst() ?? 0
    }

    /// The next two bytes as a big-endian integer (0 for bytes past the end).
    public mutating func uint16() -> UInt16 {
        UInt16(self.byte()) << 8 | UInt16(self.byte())
    }

    /// The next `count` bytes (fewer when the input ends first).
    public mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        let taken = self.bytes.prefix(max(count, 0))
        self.bytes = self.bytes.dropFirst(taken.count)
        return taken
    }

    /// Every byte not read yet.
    public mutating func rest() -> ArraySlice<UInt8> {
        let rest = self.bytes
        self.bytes = []
        return rest
    }
}

/// Splits bytes into chunks of pseudo-random lengths (1...`maximum`), the lengths drawn
/// from a generator seeded by `seed`: the same seed always splits the same way.
public func chunks(of bytes: ArraySlice<UInt8>, seed: UInt16, maximum: Int = 64) -> [ArraySlice<UInt8>] {
    var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
    var result: [ArraySlice<UInt8>] = []
    var start = bytes.startIndex
    while start < bytes.endIndex {
        // xorshift64
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        let length = Int(state % UInt64(max(maximum, 1))) + 1
        let end = min(start + length, bytes.endIndex)
        result.append(bytes[start..<end])
        start = end
    }
    return result
}

extension ByteBuffer {
    /// A buffer holding `bytes`.
    public init(fuzzBytes bytes: ArraySlice<UInt8>) {
        self = ByteBufferAllocator().buffer(capacity: bytes.count)
        self.writeBytes(bytes)
    }
}

/// Stops the process with a message when an invariant does not hold: libFuzzer records the
/// input as a crash.
public func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        fatalError("fuzz invariant broken: \(message())")
    }
}
