import SwiftProtobuf

/// A single response with the metadata that came with it: what the `…WithMetadata`
/// methods of generated clients (and `GRPCChannel.unaryWithMetadata`) return.
public struct UnaryResponse<Message: SwiftProtobuf.Message>: Sendable {
    /// The response message.
    public var message: Message
    /// Metadata from the response headers.
    public var metadata: Metadata
    /// Metadata from the trailers.
    public var trailingMetadata: Metadata

    /// A response with its metadata (fakes in tests make them too).
    public init(message: Message, metadata: Metadata = [:], trailingMetadata: Metadata = [:]) {
        self.message = message
        self.metadata = metadata
        self.trailingMetadata = trailingMetadata
    }
}
