import NIOCore

extension ClientStream {
    /// What the caller of a unary call gets back.
    struct UnaryResult {
        var message: ByteBuffer
        var metadata: Metadata
        var trailingMetadata: Metadata
    }
}
