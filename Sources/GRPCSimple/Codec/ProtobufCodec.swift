import NIOCore
import SwiftProtobuf

/// Turns protobuf messages into framed gRPC payloads and back, without copies: messages
/// serialize straight into a `ByteBuffer` whose first five bytes are kept for the gRPC
/// prefix, and parse straight out of the received buffer.
enum ProtobufCodec {
    /// Serializes `message` into a buffer that starts with the 5-byte gRPC prefix.
    static func frame<M: SwiftProtobuf.Message>(_ message: M, allocator: ByteBufferAllocator) throws(RPCError) -> ByteBuffer {
        var framed: FramedBytes
        do {
            framed = try message.serializedBytes()
        } catch {
            throw RPCError(.internal, "failed to serialize \(M.protoMessageName): \(error)")
        }
        // Written while `framed` owns the only reference, so the buffer is not copied.
        framed.writePrefix()
        return framed.buffer
    }

    /// Serializes and frames `message`, compressed with `compression` unless it is identity.
    static func frame<M: SwiftProtobuf.Message>(
        _ message: M,
        compression: CompressionAlgorithm,
        allocator: ByteBufferAllocator
    ) throws(RPCError) -> ByteBuffer {
        let framed = try self.frame(message, allocator: allocator)
        guard compression != .identity else { return framed }
        return try compression.frame(compressingFramed: framed, allocator: allocator)
    }

    /// Parses a message payload (without its prefix).
    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from payload: ByteBuffer, what: @autoclosure () -> String) throws(RPCError) -> M {
        do {
            return try M(serializedBytes: FramedBytes(payload: payload))
        } catch {
            throw RPCError(.internal, "failed to parse \(what()) as \(M.protoMessageName): \(error)")
        }
    }
}

/// A `ByteBuffer` seen by SwiftProtobuf as a bag of bytes. When SwiftProtobuf creates
/// one to serialize into, the buffer starts with five spare bytes for the gRPC prefix.
struct FramedBytes: SwiftProtobufContiguousBytes {
    fileprivate var buffer: ByteBuffer
    /// Where the message bytes start in `buffer`.
    private let offset: Int

    init(payload: ByteBuffer) {
        self.buffer = payload
        self.offset = 0
    }

    init(repeating: UInt8, count: Int) {
        self.buffer = ByteBufferAllocator().buffer(capacity: MessageFramer.prefixLength + count)
        self.buffer.writeRepeatingByte(0, count: MessageFramer.prefixLength)
        self.buffer.writeRepeatingByte(repeating, count: count)
        self.offset = MessageFramer.prefixLength
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        self.buffer = ByteBufferAllocator().buffer(capacity: MessageFramer.prefixLength)
        self.buffer.writeRepeatingByte(0, count: MessageFramer.prefixLength)
        self.buffer.writeBytes(sequence)
        self.offset = MessageFramer.prefixLength
    }

    var count: Int { self.buffer.readableBytes - self.offset }

    /// Fills the five spare bytes with the gRPC prefix: uncompressed, then the length.
    mutating func writePrefix() {
        precondition(self.offset == MessageFramer.prefixLength, "only serialized messages have room for a prefix")
        let length = UInt32(self.count)
        self.buffer.setInteger(UInt8(0), at: self.buffer.readerIndex)
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
