import NIOCore
import SwiftProtobuf
import Synchronization

/// The caller's handle on one streaming call. Operations hop to the channel's event
/// loop, where the `ClientStream` lives. Dropping the last reference to an unfinished
/// call cancels it (RST_STREAM), so an abandoned response stream frees the server.
final class ClientCall: Sendable {
    let stream: NIOLoopBoundBox<ClientStream>
    let eventLoop: any EventLoop
    let backpressure: WriteBackpressure
    let path: String
    /// How request messages are compressed.
    let compression: CompressionAlgorithm
    private let outbound = OutboundRequests()

    /// Set when the call goes through interceptors or credentials: requests wait for it.
    let startGate: CallStartGate?

    /// Creates the call and starts it on the channel (connecting if needed). `request` is
    /// the single request of a server-streaming call.
    init(channel: Channel, path: String, kind: RPCKind, options: CallOptions, request: (any SwiftProtobuf.Message)? = nil) {
        let stream = channel.makeStream(path: path, options: options)
        self.backpressure = stream.backpressure
        self.stream = NIOLoopBoundBox.makeBoxSendingValue(stream, eventLoop: channel.eventLoop)
        self.eventLoop = channel.eventLoop
        self.path = path
        self.compression = options.compression
        if let interception = ClientInterception(channel: channel, options: options) {
            let gate = CallStartGate()
            self.startGate = gate
            Self.startIntercepted(
                ClientInterceptorCall(path: path, kind: kind, options: options),
                interception: interception,
                request: request,
                stream: self.stream,
                gate: gate,
                channel: channel
            )
            return
        }
        self.startGate = nil
        var framed: ByteBuffer?
        var failure: RPCError?
        if let request {
            // A server-streaming call cannot throw when it is made: a problem with its
            // metadata or request fails the stream. (The other kinds checked theirs.)
            if let problem = GRPCHeaders.firstInvalidEntry(in: options.metadata) {
                failure = RPCError(.internal, "cannot call \(path): \(problem)")
            } else {
                do {
                    framed = try ProtobufCodec.frame(request, compression: options.compression, allocator: ByteBufferAllocator())
                } catch {
                    failure = error
                }
            }
        }
        let box = self.stream
        let manager = channel.manager
        channel.eventLoop.execute { [framed, failure] in
            if let failure { return box.value.cancel(failure) }
            if let framed { box.value.send(framed, end: true, tracked: false) }
            Channel.begin(box.value, manager: manager.value, eventLoop: channel.eventLoop)
        }
    }

    /// Runs the interceptor chain in a task of its own: its innermost step starts the
    /// call and waits for its end. The task holds the stream, not the `ClientCall`, so a
    /// caller dropping the call still cancels it.
    private static func startIntercepted(
        _ head: ClientInterceptorCall,
        interception: ClientInterception,
        request: (any SwiftProtobuf.Message)?,
        stream box: NIOLoopBoundBox<ClientStream>,
        gate: CallStartGate,
        channel: Channel
    ) {
        let createdAt = ContinuousClock.now
        let eventLoop = channel.eventLoop
        let manager = channel.manager
        _ = interception.launch(head, stream: box, eventLoop: eventLoop, gate: gate) { call in
            var framed: ByteBuffer?
            if let request {
                call.observers.request(request)
                framed = try ProtobufCodec.frame(request, compression: call.options.compression, allocator: ByteBufferAllocator())
            }
            gate.open(.init(observers: call.observers, compression: call.options.compression))
            let options = call.options
            eventLoop.execute { [framed] in
                let stream = box.value
                stream.apply(options, createdAt: createdAt)
                if let framed { stream.send(framed, end: true, tracked: false) }
                Channel.begin(stream, manager: manager.value, eventLoop: eventLoop)
            }
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                eventLoop.execute { box.value.whenFinished(continuation) }
            }
        }
    }

    deinit {
        let stream = self.stream
        self.eventLoop.execute {
            stream.value.cancel(RPCError(.cancelled, "the call was abandoned before it finished"))
        }
    }

    func cancel(_ error: RPCError = RPCError(.cancelled, "the call was cancelled by the client")) {
        let stream = self.stream
        self.eventLoop.execute { stream.value.cancel(error) }
    }

    func send(_ framed: ByteBuffer) async throws {
        let mustWait = try self.backpressure.add(framed.readableBytes)
        if self.outbound.append(framed) {
            self.scheduleDelivery()
        }
        if mustWait {
            try await self.backpressure.waitForCapacity()
        }
    }

    func closeSend() {
        if self.outbound.end() {
            self.scheduleDelivery()
        }
    }

    /// One hop to the loop hands over every request written (and the end) since the last.
    private func scheduleDelivery() {
        let stream = self.stream
        let outbound = self.outbound
        self.eventLoop.execute {
            let (messages, ended) = outbound.take()
            for message in messages {
                stream.value.send(message, end: false, tracked: true)
            }
            if ended {
                stream.value.closeSend()
            }
        }
    }

    func receive() async throws -> ByteBuffer? {
        let stream = self.stream
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                self.eventLoop.execute { stream.value.receive(continuation) }
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// Every response received so far, or the next ones once they arrive; empty at the end.
    func receiveAll() async throws -> [ByteBuffer] {
        let stream = self.stream
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                self.eventLoop.execute { stream.value.receiveAll(continuation) }
            }
        } onCancel: {
            self.cancel()
        }
    }

    func metadata() async throws -> Metadata {
        let stream = self.stream
        return try await withCheckedThrowingContinuation { continuation in
            self.eventLoop.execute { stream.value.metadata(continuation) }
        }
    }

    func trailingMetadata() async throws -> Metadata {
        let stream = self.stream
        return try await withCheckedThrowingContinuation { continuation in
            self.eventLoop.execute { stream.value.trailingMetadata(continuation) }
        }
    }
}

/// The responses of a server- or bidirectional-streaming call, as an async sequence.
///
/// Iterating ends after the last message when the call succeeds, and throws the call's
/// `RPCError` when it fails. Cancelling the iterating task cancels the call.
public struct ResponseStream<Message: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    public typealias Element = Message
    let call: ClientCall

    /// The metadata the server sent with its response headers.
    public var metadata: Metadata {
        get async throws { try await self.call.metadata() }
    }

    /// The metadata the server sent with its status; waits for the call to end.
    public var trailingMetadata: Metadata {
        get async throws { try await self.call.trailingMetadata() }
    }

    /// Cancels the call.
    public func cancel() {
        self.call.cancel()
    }

    /// Reads the responses in order; takes every response already received in one hop.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let call: ClientCall
        /// Responses taken from the loop in one hop, not yet returned.
        private var received: [ByteBuffer] = []
        private var nextIndex = 0

        init(call: ClientCall) {
            self.call = call
        }

        public mutating func next() async throws -> Message? {
            if self.nextIndex == self.received.count {
                self.received = try await self.call.receiveAll()
                self.nextIndex = 0
                if self.received.isEmpty { return nil }
            }
            let payload = self.received[self.nextIndex]
            self.nextIndex += 1
            do {
                let message = try ProtobufCodec.decode(Message.self, from: payload, what: "a response of \(self.call.path)")
                self.call.startGate?.started?.observers.response(message)
                return message
            } catch {
                self.call.cancel(error)
                throw error
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(call: self.call)
    }
}

/// Sends the requests of a client- or bidirectional-streaming call.
///
/// `write` waits when the server reads more slowly than you write. The request stream
/// ends when your closure returns, or earlier with `finish()`.
public struct RequestWriter<Message: SwiftProtobuf.Message>: Sendable {
    let call: ClientCall

    /// Sends one request message. With `compress: false` this message goes uncompressed
    /// even when the call compresses its requests (`CallOptions.compression`).
    public func write(_ message: Message, compress: Bool = true) async throws {
        var compression = self.call.compression
        if let gate = self.call.startGate {
            let started = try await gate.wait()
            started.observers.request(message)
            compression = started.compression
        }
        let framed = try ProtobufCodec.frame(message, compression: compress ? compression : .identity, allocator: ByteBufferAllocator())
        try await self.call.send(framed)
    }

    /// Ends the request stream: the server sees no more messages.
    public func finish() {
        self.call.closeSend()
    }
}

/// A unary response with the metadata that came with it.
public struct UnaryResponse<Message: SwiftProtobuf.Message>: Sendable {
    public var message: Message
    /// Metadata from the response headers.
    public var metadata: Metadata
    /// Metadata from the trailers.
    public var trailingMetadata: Metadata
}

/// Request messages on their way from the caller's task to the event loop.
///
/// A caller writing many messages would otherwise pay a hop (a closure, a lock, maybe a
/// wake-up of the loop) per message. Writes queue here instead, and only the write that
/// finds the queue idle schedules a hop, which then takes everything queued by then.
final class OutboundRequests: Sendable {
    private struct State {
        var messages: [ByteBuffer] = []
        var ended = false
        var endDelivered = false
        var deliveryScheduled = false
    }

    private let state = Mutex(State())

    /// Queues a message; true when the caller must schedule a delivery.
    func append(_ message: ByteBuffer) -> Bool {
        self.state.withLock { state in
            state.messages.append(message)
            return Self.scheduleIfIdle(&state)
        }
    }

    /// Marks the end of the requests; true when the caller must schedule a delivery.
    func end() -> Bool {
        self.state.withLock { state in
            guard !state.ended else { return false }
            state.ended = true
            return Self.scheduleIfIdle(&state)
        }
    }

    /// Takes what is queued, and whether the end is now due; on the event loop.
    func take() -> (messages: [ByteBuffer], ended: Bool) {
        self.state.withLock { state in
            let messages = state.messages
            state.messages = []
            state.deliveryScheduled = false
            let ended = state.ended && !state.endDelivered
            if ended { state.endDelivered = true }
            return (messages, ended)
        }
    }

    private static func scheduleIfIdle(_ state: inout State) -> Bool {
        guard !state.deliveryScheduled else { return false }
        state.deliveryScheduled = true
        return true
    }
}
