import NIOCore

/// Writes the 5-byte gRPC message prefix: a compressed flag and a big-endian length.
enum MessageFramer {
    static let prefixLength = 5

    /// Frames an already serialized payload.
    static func frame(_ payload: ByteBuffer, compressed: Bool = false, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: prefixLength + payload.readableBytes)
        buffer.writeInteger(UInt8(compressed ? 1 : 0))
        buffer.writeInteger(UInt32(payload.readableBytes))
        buffer.writeImmutableBuffer(payload)
        return buffer
    }
}
