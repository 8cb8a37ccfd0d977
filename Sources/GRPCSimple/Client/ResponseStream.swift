import NIOCore
import SwiftProtobuf

/// The responses of a server- or bidirectional-streaming call, as an async sequence.
///
/// Iterating ends after the last message when the call succeeds, and throws the call's
/// `RPCError` when it fails. Cancelling the iterating task cancels the call.
///
/// In tests, a fake of a generated client protocol returns one made with
/// `init(messages:metadata:trailingMetadata:error:)`.
public struct ResponseStream<Message: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    /// The response message type.
    public typealias Element = Message

    /// Where the responses come from.
    enum Source: Sendable {
        /// A call on a channel.
        case call(ClientCall)
        /// Given in advance (a fake).
        case given(messages: [Message], metadata: Metadata, trailingMetadata: Metadata, error: RPCError?)
    }

    let source: Source

    init(call: ClientCall) {
        self.source = .call(call)
    }

    /// Responses that come from no server: `messages` in order, then the end, or `error`
    /// when there is one. For fakes of generated client protocols in tests.
    public init(messages: [Message], metadata: Metadata = [:], trailingMetadata: Metadata = [:], error: RPCError? = nil)
    {
        self.source = .given(messages: messages, metadata: metadata, trailingMetadata: trailingMetadata, error: error)
    }

    /// The metadata the server sent with its response headers.
    public var metadata: Metadata {
        get async throws {
            switch self.source {
            case .call(let call): try await call.metadata()
            case .given(_, let metadata, _, _): metadata
            }
        }
    }

    /// The metadata the server sent with its status; waits for the call to end.
    public var trailingMetadata: Metadata {
        get async throws {
            switch self.source {
            case .call(let call): try await call.trailingMetadata()
            case .given(_, _, let trailingMetadata, let error): error?.trailingMetadata ?? trailingMetadata
            }
        }
    }

    /// Cancels the call.
    public func cancel() {
        if case .call(let call) = self.source {
            call.cancel()
        }
    }

    /// Reads the responses in order; takes every response already received in one hop.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private let source: Source
        /// Responses taken from the loop in one hop, not yet returned.
        private var received: [ByteBuffer] = []
        private var nextIndex = 0

        init(source: Source) {
            self.source = source
        }

        /// The next response, nil after the last; throws the call's error.
        public mutating func next() async throws -> Message? {
            switch self.source {
            case .call(let call):
                return try await self.next(from: call)
            case .given(let messages, _, _, let error):
                guard self.nextIndex < messages.count else {
                    if let error { throw error }
                    return nil
                }
                self.nextIndex += 1
                return messages[self.nextIndex - 1]
            }
        }

        private mutating func next(from call: ClientCall) async throws -> Message? {
            if self.nextIndex == self.received.count {
                self.received = try await call.receiveAll()
                self.nextIndex = 0
                if self.received.isEmpty { return nil }
            }
            let payload = self.received[self.nextIndex]
            self.nextIndex += 1
            do {
                let message = try ProtobufCodec.decode(
                    Message.self, from: payload, what: "a response of \(call.method)")
                call.startGate?.started?.observers.response(message)
                return message
            } catch {
                call.cancel(error)
                throw error
            }
        }
    }

    /// An iterator over the responses.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: self.source)
    }
}
