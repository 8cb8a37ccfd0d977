import SwiftProtobuf

/// Sends the responses of a server- or bidirectional-streaming call.
///
/// `write` waits when the client reads more slowly than the handler writes.
public struct ResponseWriter<Message: SwiftProtobuf.Message>: Sendable {
    let call: ServerCall

    /// Sends one response message. With `compress: false` this message goes uncompressed
    /// even when the call's responses are compressed (`ServerContext.responseCompression`).
    public func write(_ message: Message, compress: Bool = true) async throws {
        try await self.call.send(message, compress: compress)
    }
}
