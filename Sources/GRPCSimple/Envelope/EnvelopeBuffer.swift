import NIOCore
import SwiftProtobuf

/// A `ByteBuffer` seen by swift-protobuf as a bag of bytes. When swift-protobuf creates
/// one to serialize into, the buffer starts with five spare bytes for the envelope's
/// prefix, so a message is serialized and framed without a copy; a received payload is
/// parsed straight out of the buffer it arrived in.
struct EnvelopeBuffer: SwiftProtobufContiguousBytes {
    private(set) var buffer: ByteBuffer
    /// Where the message bytes start in `buffer`.
    private let offset: Int

    /// A received payload (without its prefix), to parse.
    init(payload: ByteBuffer) {
        self.buffer = payload
        self.offset = 0
    }

    init(repeating: UInt8, count: Int) {
        self.buffer = ByteBufferAllocator().buffer(capacity: Envelope.prefixLength + count)
        self.buffer.writeRepeatingByte(0, count: Envelope.prefixLength)
        self.buffer.writeRepeatingByte(repeating, count: count)
        self.offset = Envelope.prefixLength
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        self.buffer = ByteBufferAllocator().buffer(capacity: Envelope.prefixLength)
        self.buffer.writeRepeatingByte(0, count: Envelope.prefixLength)
        self.buffer.writeBytes(sequence)
        self.offset = Envelope.prefixLength
    }

    var count: Int { self.buffer.readableBytes - self.offset }

    /// Fills the five spare bytes with the prefix: uncompressed, then the length.
    mutating func writePrefix() {
        precondition(self.offset == Envelope.prefixLength, "only serialized messages have room for a prefix")
        let length = UInt32(self.count)
        self.buffer.setInteger(Envelope.Flags().rawValue, at: self.buffer.readerIndex)
        self.buffer.setInteger(length, at: self.buffer.readerIndex + 1)
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.buffer.withUnsafeReadableBytes { bytes in
            try body(UnsafeRawBufferPointer(rebasing: bytes[self.offset...]))
        }
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        let offset = self.offset
        return try self.buffer.withUnsafeMutableReadableBytes { bytes in
            try body(UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]))
        }
    }
}
