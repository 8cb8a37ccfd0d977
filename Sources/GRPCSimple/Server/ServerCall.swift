import NIOCore
import SwiftProtobuf

/// The handle a handler's task uses to read requests and write responses of its call.
///
/// Every operation runs on the connection's event loop: directly when the task already
/// runs there (the default, see `EventLoopTaskExecutor`), through one hop otherwise.
struct ServerCall: Sendable {
    let stream: NIOLoopBound<ServerStream>
    let eventLoop: any EventLoop
    let allocator: ByteBufferAllocator
    let backpressure: WriteBackpressure?
    let path: String
    let executor: EventLoopTaskExecutor
    /// How the call's messages are encoded (protobuf, or JSON for `+json` content-types).
    var codec: MessageCodec = .protobuf
    /// What interceptors watch of this call's messages; nil without interceptors.
    var observers: MessageObservers? = nil

    func receiveBytes() async throws -> ByteBuffer? {
        if self.eventLoop.inEventLoop {
            let stream = self.stream.value
            switch stream.poll() {
            case .message(let message): return message
            case .end: return nil
            case .failed(let error): throw error
            case .pending: break
            }
        }
        return try await withCheckedThrowingContinuation { continuation in
            if self.eventLoop.inEventLoop {
                self.stream.value.receive(continuation)
            } else {
                self.eventLoop.execute { self.stream.value.receive(continuation) }
            }
        }
    }

    func receive<Message: SwiftProtobufMessage>(_ type: Message.Type) async throws -> Message? {
        guard let payload = try await self.receiveBytes() else { return nil }
        let message = try self.codec.decode(Message.self, from: payload, what: "a request of \(self.path)")
        self.observers?.request(message)
        return message
    }

    /// The single request of a unary or server-streaming call.
    func receiveOnly<Message: SwiftProtobufMessage>(_ type: Message.Type) async throws -> Message {
        guard let payload = try await self.receiveBytes() else {
            throw RPCError(.internal, "\(self.path) takes one request message; the client sent none")
        }
        if try await self.receiveBytes() != nil {
            throw RPCError(.internal, "\(self.path) takes one request message; the client sent more")
        }
        let message = try self.codec.decode(Message.self, from: payload, what: "the request of \(self.path)")
        self.observers?.request(message)
        return message
    }

    /// Sends one message of a streaming response, waiting if the client is behind.
    func send<Message: SwiftProtobufMessage>(_ message: Message, compress: Bool = true) async throws {
        self.observers?.response(message)
        let envelope = try self.codec.envelope(message)
        guard let backpressure = self.backpressure else {
            self.onLoop(.send(envelope, tracked: false, compress: compress))
            return
        }
        let mustWait = try backpressure.add(envelope.readableBytes)
        self.onLoop(.send(envelope, tracked: true, compress: compress))
        if mustWait {
            try await backpressure.waitForCapacity()
        } else if self.executor.shouldYield {
            // The loop has run jobs for its whole tick: let it poll I/O, then go on.
            await Task.yield()
        }
    }

    /// Sends the single response of a unary or client-streaming call.
    func sendLast<Message: SwiftProtobufMessage>(_ message: Message) throws {
        self.observers?.response(message)
        let envelope = try self.codec.envelope(message)
        self.onLoop(.send(envelope, tracked: false, compress: true))
    }

    func finish(status: Status, trailers: Metadata) {
        self.onLoop(.finish(status, trailers))
    }

    /// What the handler's task asks of its stream.
    private enum Operation: Sendable {
        case send(ByteBuffer, tracked: Bool, compress: Bool)
        case finish(Status, Metadata)

        func apply(to stream: ServerStream) {
            switch self {
            case .send(let envelope, let tracked, let compress):
                stream.send(envelope, tracked: tracked, compress: compress)
            case .finish(let status, let trailers): stream.finish(status: status, trailers: trailers)
            }
        }
    }

    /// Runs `operation` on the stream: right here when the task is on the connection's
    /// loop (no closure is allocated then), through one hop otherwise.
    private func onLoop(_ operation: Operation) {
        if self.eventLoop.inEventLoop {
            operation.apply(to: self.stream.value)
        } else {
            let stream = self.stream
            self.eventLoop.execute { operation.apply(to: stream.value) }
        }
    }
}
