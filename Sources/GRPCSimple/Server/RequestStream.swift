import SwiftProtobuf

/// The requests of a client- or bidirectional-streaming call, as an async sequence.
///
/// The sequence ends when the client finishes sending; it throws if the call fails
/// (for example a message over the size limit, or cancellation).
public struct RequestStream<Message: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    /// The request message type.
    public typealias Element = Message
    let call: ServerCall

    /// Reads the requests in order.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let call: ServerCall

        /// The next request, or nil once the client has sent its last one.
        public mutating func next() async throws -> Message? {
            try await self.call.receive(Message.self)
        }
    }

    /// An iterator over the requests.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(call: self.call)
    }
}
