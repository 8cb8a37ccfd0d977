import NIOCore
import NIOHPACK
import NIOHTTP2
import SwiftProtobuf

typealias SwiftProtobufMessage = SwiftProtobuf.Message

/// One call on a server connection: its state, its received messages, and the frames
/// it writes. Lives on the connection's event loop; the handler's task reaches it through
/// `ServerCall`.
final class ServerStream: GatheringStream {
    let id: HTTP2StreamID
    let path: String
    let kind: MethodHandler.Kind
    let context: ServerContext
    let backpressure: WriteBackpressure?

    private var connection: ServerConnectionHandler?
    private var machine = ServerStreamStateMachine()
    private var inbound: InboundMessages
    /// Why reading can no longer succeed, once the call was cut short.
    private var failure: RPCError?
    var task: Task<Void, Never>?
    var deadlineTimer: Scheduled<Void>?
    /// How this call's response messages are compressed, fixed when the headers go out.
    private var responseEncoding = CompressionAlgorithm.identity
    /// What the client can read (its `grpc-accept-encoding`, parsed only when needed).
    private let acceptEncoding: String?
    /// Response messages sent since the last flush, not yet written as a DATA frame.
    private var pendingData: ByteBuffer?
    /// How many of `pendingData`'s bytes the back-pressure counts.
    private var pendingTrackedBytes = 0

    /// The handler of a unary or server-streaming call, waiting for the call's one
    /// request: it starts once the request has ended, and then usually runs to its end
    /// right away, with no job on the event loop's queue.
    var pendingStart: PendingStart?
    /// Whether the handler has returned or thrown (its status is written).
    private(set) var handlerFinished = false

    struct PendingStart {
        let handler: MethodHandler
        let call: ServerCall
    }

    init(
        id: HTTP2StreamID,
        path: String,
        kind: MethodHandler.Kind,
        context: ServerContext,
        connection: ServerConnectionHandler,
        maximumMessageSize: Int,
        windowSize: Int,
        requestEncoding: CompressionAlgorithm = .identity,
        acceptEncoding: String? = nil
    ) {
        self.acceptEncoding = acceptEncoding
        self.id = id
        self.path = path
        self.kind = kind
        self.context = context
        self.connection = connection
        self.inbound = InboundMessages(maximumMessageSize: maximumMessageSize, windowSize: windowSize)
        self.inbound.encoding = requestEncoding
        self.backpressure = kind.streamsResponses ? WriteBackpressure() : nil
    }

    var isFinished: Bool { self.machine.isFinished }

    // MARK: Inbound, from the connection

    func receiveData(_ data: ByteBuffer, endStream: Bool, flowControlledLength: Int) {
        switch self.machine.receiveMessageBytes() {
        case .protocolViolation, .drop:
            return
        case .deliver:
            break
        }
        do {
            try self.inbound.receive(data, flowControlledLength: flowControlledLength)
        } catch {
            self.abort(status: error.status)
            return
        }
        if endStream {
            self.receiveEnd()
        }
        self.grantWindowIfDue()
    }

    func receiveEnd() {
        guard self.machine.receiveEnd() == .deliver else { return }
        if self.inbound.partialBytes > 0 {
            self.abort(status: Status(code: .internal, message: "the request stream ended in the middle of a message"))
            return
        }
        self.inbound.wakeReader(with: .success(()))
    }

    /// The client reset the stream or the connection went away.
    func reset(reason: String) {
        guard !self.machine.isFinished || self.task != nil else { return }
        self.machine.reset()
        self.cancel(RPCError(.cancelled, reason))
    }

    /// The waiting handler, once its request is complete (or the client sent more than
    /// the one message it may send, which the handler reports). Nil when the call ended
    /// before the handler could start.
    func takeStartIfReady() -> PendingStart? {
        guard let start = self.pendingStart else { return nil }
        guard self.machine.request == .closed || self.inbound.queuedCount > 1 || self.failure != nil else {
            return nil
        }
        self.pendingStart = nil
        return self.machine.isFinished ? nil : start
    }

    // MARK: Reading, for the handler

    enum Poll {
        case message(ByteBuffer)
        case end
        case failed(RPCError)
        case pending
    }

    func poll() -> Poll {
        if let message = self.inbound.take() {
            self.grantWindowIfDue()
            return .message(message)
        }
        if let failure = self.failure { return .failed(failure) }
        if self.machine.request == .closed { return .end }
        return .pending
    }

    func receive(_ continuation: CheckedContinuation<ByteBuffer?, any Error>) {
        switch self.poll() {
        case .message(let message): continuation.resume(returning: message)
        case .end: continuation.resume(returning: nil)
        case .failed(let error): continuation.resume(throwing: error)
        case .pending:
            self.inbound.park(.one(continuation))
        }
    }

    private func grantWindowIfDue() {
        guard self.machine.request == .open, let increment = self.inbound.windowUpdate() else { return }
        self.connection?.write(HTTP2Frame(streamID: self.id, payload: .windowUpdate(windowSizeIncrement: increment)))
    }

    // MARK: Writing, for the handler

    /// Writes one framed response message; `tracked` messages report to the back-pressure.
    ///
    /// Messages are not written one DATA frame each: they gather in `pendingData` and go
    /// out as one frame when the connection flushes (or once `coalescingLimit` bytes wait),
    /// so a handler streaming many small messages costs HTTP/2 one frame per flush.
    func send(_ framed: ByteBuffer, tracked: Bool, compress: Bool = true) {
        guard let connection = self.connection else {
            if tracked { self.backpressure?.complete(framed.readableBytes) }
            return
        }
        switch self.machine.sendMessage() {
        case .drop:
            if tracked { self.backpressure?.complete(framed.readableBytes) }
            return
        case .writeHeadersThenMessage:
            self.responseEncoding = self.chooseResponseEncoding()
            connection.write(HTTP2Frame(streamID: self.id, payload: .headers(.init(headers: self.responseHeaders()))))
        case .writeMessage:
            break
        }
        // The back-pressure counts what the caller framed, compressed or not.
        if tracked { self.pendingTrackedBytes += framed.readableBytes }
        var framed = framed
        if compress, self.responseEncoding != .identity {
            do {
                framed = try self.responseEncoding.frame(
                    compressingFramed: framed,
                    allocator: connection.context?.channel.allocator ?? ByteBufferAllocator()
                )
            } catch {
                self.abort(status: Status(error))
                return
            }
        }
        if self.pendingData == nil {
            self.pendingData = framed
            connection.hasPendingData(self)
        } else {
            self.pendingData!.writeImmutableBuffer(framed)
        }
        if self.pendingData!.readableBytes >= Self.coalescingLimit {
            self.writePendingData()
        }
        connection.scheduleFlush()
    }

    /// Response bytes gathered beyond this go out without waiting for the flush.
    static let coalescingLimit = 16 * 1024

    /// Writes the gathered response messages as one DATA frame. Called by the connection
    /// before it flushes, and before anything else this stream writes.
    func writePendingData() {
        guard let data = self.pendingData else { return }
        self.pendingData = nil
        let tracked = self.pendingTrackedBytes
        self.pendingTrackedBytes = 0
        guard let connection = self.connection else {
            if tracked > 0 { self.backpressure?.complete(tracked) }
            return
        }
        connection.writeData(data, stream: self.id, trackedBytes: tracked, backpressure: self.backpressure)
    }

    /// Ends the call with a status (the handler returned or threw).
    func finish(status: Status, trailers: Metadata) {
        self.deadlineTimer?.cancel()
        self.deadlineTimer = nil
        self.task = nil
        self.handlerFinished = true
        self.writeStatus(status, trailers: trailers)
        self.failure = self.failure ?? RPCError(.cancelled, "the call has ended")
        self.backpressure?.fail(RPCError(.cancelled, "the call has ended"))
    }

    /// Ends the call now, before the handler does: sends the status, resets the stream if
    /// the client is still sending, and cancels the handler.
    func abort(status: Status) {
        self.writeStatus(status, trailers: [:])
        self.cancel(RPCError(code: status.code, message: status.message))
    }

    func deadlineExpired() {
        self.deadlineTimer = nil
        self.abort(status: Status(code: .deadlineExceeded, message: "the deadline of \(self.path) expired on the server"))
    }

    private func writeStatus(_ status: Status, trailers: Metadata) {
        guard let connection = self.connection else { return }
        self.writePendingData()
        let headers: HPACKHeaders
        switch self.machine.sendStatus() {
        case .none:
            return
        case .writeTrailersOnly:
            var block = self.responseHeaders()
            block.add(contentsOf: GRPCHeaders.trailers(status: status, metadata: trailers))
            headers = block
        case .writeTrailers:
            headers = GRPCHeaders.trailers(status: status, metadata: trailers)
        }
        connection.write(HTTP2Frame(streamID: self.id, payload: .headers(.init(headers: headers, endStream: true))))
        if self.machine.request == .open {
            // Tell the client to stop sending: the call is over.
            connection.write(HTTP2Frame(streamID: self.id, payload: .rstStream(.noError)))
        }
        connection.scheduleFlush()
    }

    /// The handler's choice, unless the client said it cannot read it.
    private func chooseResponseEncoding() -> CompressionAlgorithm {
        let chosen = self.context.responseCompression
        guard chosen != .identity, let acceptEncoding = self.acceptEncoding else { return chosen }
        return CompressionAlgorithm.parseAcceptEncoding(acceptEncoding).contains(chosen) ? chosen : .identity
    }

    private func responseHeaders() -> HPACKHeaders {
        let metadata = self.context.initialMetadata
        guard !metadata.isEmpty || self.responseEncoding != .identity else { return GRPCHeaders.responseHead }
        var headers = GRPCHeaders.responseHead
        if self.responseEncoding != .identity {
            headers.add(name: "grpc-encoding", value: self.responseEncoding.name)
        }
        GRPCHeaders.append(metadata, to: &headers)
        return headers
    }

    private func cancel(_ error: RPCError) {
        self.deadlineTimer?.cancel()
        self.deadlineTimer = nil
        if self.failure == nil { self.failure = error }
        self.pendingStart = nil
        self.inbound.wakeReader(with: .failure(error))
        self.backpressure?.fail(error)
        self.task?.cancel()
        self.task = nil
    }

    /// The HTTP/2 stream is gone; drop the link to the connection.
    func closed() {
        if !self.machine.isFinished || self.task != nil {
            self.machine.reset()
            self.cancel(RPCError(.cancelled, "the stream was closed"))
        }
        self.connection = nil
        self.writePendingData()  // drops what the stream can no longer send
    }
}

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
        let message = try ProtobufCodec.decode(Message.self, from: payload, what: "a request of \(self.path)")
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
        let message = try ProtobufCodec.decode(Message.self, from: payload, what: "the request of \(self.path)")
        self.observers?.request(message)
        return message
    }

    /// Sends one message of a streaming response, waiting if the client is behind.
    func send<Message: SwiftProtobufMessage>(_ message: Message, compress: Bool = true) async throws {
        self.observers?.response(message)
        let framed = try ProtobufCodec.frame(message, allocator: self.allocator)
        guard let backpressure = self.backpressure else {
            self.onLoop(.send(framed, tracked: false, compress: compress))
            return
        }
        let mustWait = try backpressure.add(framed.readableBytes)
        self.onLoop(.send(framed, tracked: true, compress: compress))
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
        let framed = try ProtobufCodec.frame(message, allocator: self.allocator)
        self.onLoop(.send(framed, tracked: false, compress: true))
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
            case .send(let framed, let tracked, let compress): stream.send(framed, tracked: tracked, compress: compress)
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
