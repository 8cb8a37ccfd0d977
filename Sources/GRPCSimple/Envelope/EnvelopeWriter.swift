import NIOCore
import SwiftProtobuf

/// Writes messages as envelopes (see `Envelope`): serialized straight into a buffer whose
/// first five bytes wait for the prefix, then compressed when the call compresses.
enum EnvelopeWriter {
    /// Serializes `message` into an envelope, compressed with `compression` unless it is
    /// identity.
    static func write<M: SwiftProtobuf.Message>(
        _ message: M,
        compression: CompressionAlgorithm = .identity,
        allocator: ByteBufferAllocator
    ) throws(RPCError) -> ByteBuffer {
        var envelope = try ProtobufCodec.serialize(message)
        // Written while `envelope` owns the only reference, so the buffer is not copied.
        envelope.writePrefix()
        guard compression != .identity else { return envelope.buffer }
        return try self.compress(envelope.buffer, with: compression, allocator: allocator)
    }

    /// An envelope around an already serialized payload.
    static func envelope(_ payload: ByteBuffer, flags: Envelope.Flags = [], allocator: ByteBufferAllocator)
        -> ByteBuffer
    {
        var buffer = allocator.buffer(capacity: Envelope.prefixLength + payload.readableBytes)
        buffer.writeInteger(flags.rawValue)
        buffer.writeInteger(UInt32(payload.readableBytes))
        buffer.writeImmutableBuffer(payload)
        return buffer
    }

    /// Compresses the payload of an uncompressed envelope into a new envelope with the
    /// compressed flag set.
    static func compress(
        _ envelope: ByteBuffer,
        with algorithm: CompressionAlgorithm,
        allocator: ByteBufferAllocator
    ) throws(RPCError) -> ByteBuffer {
        let payload = envelope.getSlice(
            at: envelope.readerIndex + Envelope.prefixLength,
            length: envelope.readableBytes - Envelope.prefixLength
        )!
        let compressed = try algorithm.compress(payload, allocator: allocator)
        return self.envelope(compressed, flags: .compressed, allocator: allocator)
    }
}
