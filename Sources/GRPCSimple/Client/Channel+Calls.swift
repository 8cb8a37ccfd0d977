import NIOCore
import SwiftProtobuf

/// The four kinds of call. Generated clients call these; you can too, with a method path.
extension Channel {
    /// Sends one request and waits for the response.
    public func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        path: String,
        request: Request,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self
    ) async throws -> Response {
        try await self.unaryResponse(path: path, request: request, options: options, responseType: responseType).message
    }

    /// Like `unary`, also returning the response's metadata and trailing metadata.
    public func unaryResponse<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        path: String,
        request: Request,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self
    ) async throws -> UnaryResponse<Response> {
        if let interception = ClientInterception(channel: self, options: options) {
            return try await self.interceptedUnary(path: path, request: request, options: options, interception: interception)
        }
        try Self.checkMetadata(options, path: path)
        let framed = try ProtobufCodec.frame(request, compression: options.compression, allocator: ByteBufferAllocator())
        let box = NIOLoopBoundBox.makeBoxSendingValue(self.makeStream(path: path, options: options), eventLoop: self.eventLoop)
        let result = try await self.runUnary(box, framed: framed)
        let message = try ProtobufCodec.decode(Response.self, from: result.message, what: "the response of \(path)")
        return UnaryResponse(message: message, metadata: result.metadata, trailingMetadata: result.trailingMetadata)
    }

    /// A unary call through the interceptor chain, which runs in a task of its own (see
    /// `ClientInterception.launch`). Its deadline runs from now, also while interceptors
    /// and credentials do their work.
    private func interceptedUnary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        path: String,
        request: Request,
        options: CallOptions,
        interception: ClientInterception
    ) async throws -> UnaryResponse<Response> {
        let createdAt = ContinuousClock.now
        let box = NIOLoopBoundBox.makeBoxSendingValue(self.makeStream(path: path, options: options), eventLoop: self.eventLoop)
        let head = ClientInterceptorCall(path: path, kind: .unary, options: options)
        let task = interception.launch(head, stream: box, eventLoop: self.eventLoop, gate: CallStartGate()) { call in
            call.observers.request(request)
            let framed = try ProtobufCodec.frame(request, compression: call.options.compression, allocator: ByteBufferAllocator())
            let options = call.options
            let result = try await self.runUnary(box, framed: framed) { $0.apply(options, createdAt: createdAt) }
            let message = try ProtobufCodec.decode(Response.self, from: result.message, what: "the response of \(path)")
            call.observers.response(message)
            return UnaryResponse(message: message, metadata: result.metadata, trailingMetadata: result.trailingMetadata)
        }
        let eventLoop = self.eventLoop
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            eventLoop.execute { box.value.cancel(RPCError(.cancelled, "the call was cancelled by the client")) }
        }
    }

    /// Sends the framed request of a unary call, starts the call and waits for its
    /// result; `prepare` runs on the loop first.
    private func runUnary(
        _ box: NIOLoopBoundBox<ClientStream>,
        framed: ByteBuffer,
        prepare: (@Sendable (ClientStream) -> Void)? = nil
    ) async throws -> ClientStream.UnaryResult {
        let manager = self.manager
        let eventLoop = self.eventLoop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ClientStream.UnaryResult, any Error>) in
                eventLoop.execute {
                    let stream = box.value
                    prepare?(stream)
                    stream.send(framed, end: true, tracked: false)
                    stream.receiveUnary(continuation)
                    Channel.begin(stream, manager: manager.value, eventLoop: eventLoop)
                }
            }
        } onCancel: {
            eventLoop.execute { box.value.cancel(RPCError(.cancelled, "the call was cancelled by the client")) }
        }
    }

    /// Sends one request; the responses arrive as an async sequence.
    public func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        path: String,
        request: Request,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self
    ) -> ResponseStream<Response> {
        ResponseStream(call: ClientCall(channel: self, path: path, kind: .serverStreaming, options: options, request: request))
    }

    /// Sends the requests your closure writes, then waits for the single response.
    public func clientStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        path: String,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self,
        requests: (RequestWriter<Request>) async throws -> Void
    ) async throws -> Response {
        try Self.checkMetadata(options, path: path)
        let call = ClientCall(channel: self, path: path, kind: .clientStreaming, options: options)
        return try await withTaskCancellationHandler {
            do {
                try await requests(RequestWriter(call: call))
            } catch {
                call.cancel()
                throw error
            }
            call.closeSend()
            guard let payload = try await call.receive() else {
                throw RPCError(.internal, "\(path) should return one response message; the server sent none")
            }
            let response = try ProtobufCodec.decode(Response.self, from: payload, what: "the response of \(path)")
            call.startGate?.started?.observers.response(response)
            if try await call.receive() != nil {
                throw RPCError(.internal, "\(path) should return one response message; the server sent more")
            }
            return response
        } onCancel: {
            call.cancel()
        }
    }

    /// Runs `body` with a writer for the requests and the stream of responses. The
    /// request stream ends when `body` returns (or at `finish()`); a call still running
    /// then is cancelled.
    public func bidirectionalStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message, Output>(
        path: String,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self,
        _ body: (RequestWriter<Request>, ResponseStream<Response>) async throws -> Output
    ) async throws -> Output {
        try Self.checkMetadata(options, path: path)
        let call = ClientCall(channel: self, path: path, kind: .bidirectionalStreaming, options: options)
        return try await withTaskCancellationHandler {
            do {
                let output = try await body(RequestWriter(call: call), ResponseStream(call: call))
                call.closeSend()
                return output
            } catch {
                call.cancel()
                throw error
            }
        } onCancel: {
            call.cancel()
        }
    }

    private static func checkMetadata(_ options: CallOptions, path: String) throws {
        if let problem = GRPCHeaders.firstInvalidEntry(in: options.metadata) {
            throw RPCError(.internal, "cannot call \(path): \(problem)")
        }
    }

    /// A new call's state, before it goes to the event loop.
    func makeStream(path: String, options: CallOptions) -> ClientStream {
        ClientStream(
            path: path,
            options: options,
            deadline: options.effectiveDeadline(),
            maximumMessageSize: options.maximumReceiveMessageSize ?? self.configuration.maximumReceiveMessageSize,
            windowSize: self.configuration.streamWindowSize
        )
    }

    /// Arms the deadline and hands the stream to the connection manager. On the loop.
    static func begin(_ stream: ClientStream, manager: ConnectionManager, eventLoop: any EventLoop) {
        guard !stream.isFinished else { return }
        Self.armDeadline(stream, eventLoop: eventLoop)
        manager.open(stream, waitForReady: stream.options.waitForReady)
    }

    /// Schedules the stream's cancellation at its deadline, replacing an earlier timer.
    /// On the loop.
    static func armDeadline(_ stream: ClientStream, eventLoop: any EventLoop) {
        stream.deadlineTimer?.cancel()
        stream.deadlineTimer = nil
        guard let deadline = stream.deadline, !stream.isFinished else { return }
        let remaining = ContinuousClock.now.duration(to: deadline)
        let path = stream.path
        stream.deadlineTimer = eventLoop.assumeIsolated().scheduleTask(in: remaining.timeAmount) {
            stream.cancel(RPCError(.deadlineExceeded, "the deadline of \(path) expired before the server answered"))
        }
    }
}
