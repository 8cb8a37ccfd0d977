import NIOCore
import SwiftProtobuf

/// Sends the requests of a client- or bidirectional-streaming call.
///
/// `write` waits when the server reads more slowly than you write. The request stream
/// ends when your closure returns, or earlier with `finish()`.
///
/// In tests, a fake of a generated client protocol hands its caller one made with
/// `init(_:)`, which passes each message to a closure.
public struct RequestWriter<Message: SwiftProtobuf.Message>: Sendable {
    /// Where the requests go.
    enum Sink: Sendable {
        /// A call on a channel.
        case call(ClientCall)
        /// A closure (a fake).
        case closure(@Sendable (Message) async throws -> Void)
    }

    let sink: Sink

    init(call: ClientCall) {
        self.sink = .call(call)
    }

    /// A writer that passes each message to `write` and sends nothing anywhere: for fakes
    /// of generated client protocols in tests.
    public init(_ write: @escaping @Sendable (Message) async throws -> Void) {
        self.sink = .closure(write)
    }

    /// Sends one request message. With `compress: false` this message goes uncompressed
    /// even when the call compresses its requests (`CallOptions.compression`).
    public func write(_ message: Message, compress: Bool = true) async throws {
        switch self.sink {
        case .closure(let write):
            try await write(message)
        case .call(let call):
            var compression = call.compression
            if let gate = call.startGate {
                let started = try await gate.wait()
                started.observers.request(message)
                compression = started.compression
            }
            let envelope = try EnvelopeWriter.write(
                message,
                compression: compress ? compression : .identity,
                allocator: ByteBufferAllocator()
            )
            if let limit = call.maximumRequestSize {
                try ClientCallStart.checkRequestSize(envelope, limit: limit)
            }
            try await call.send(envelope)
        }
    }

    /// Ends the request stream: the server sees no more messages.
    public func finish() {
        if case .call(let call) = self.sink {
            call.closeSend()
        }
    }
}
