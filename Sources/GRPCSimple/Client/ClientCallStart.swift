import NIOCore
import SwiftProtobuf

/// How a call starts, whatever its kind: the one path from a caller to a stream on a
/// connection.
///
/// 1. `init` makes the call's `ClientStream`; its deadline counts from now.
/// 2. `begin` envelopes the request (unary and server-streaming calls carry theirs from
///    the start), and one hop hands the stream to the channel's event loop, which takes
///    the request, registers a unary call's waiter, arms the deadline and gives the stream
///    to the channel's core, which picks a connection for it.
/// 3. Without interceptors or credentials, `begin` runs right away, in the caller's task:
///    a unary call costs one hop to the loop and one back. With them, the chain runs in a
///    task of its own (`ClientInterception.launch`) and its innermost step runs `begin`
///    with the options, metadata and observers the chain settled on.
struct ClientCallStart: Sendable {
    let channel: GRPCChannel
    let method: MethodDescriptor
    let options: CallOptions
    let stream: NIOLoopBoundBox<ClientStream>
    /// The stream's bound on requests written but not yet sent.
    let backpressure: WriteBackpressure
    /// Nil when the call takes the direct path.
    let interception: ClientInterception?
    /// The service config's word on this method, if it has one.
    let methodConfig: MethodConfig?
    private let createdAt: ContinuousClock.Instant

    init(channel: GRPCChannel, method: MethodDescriptor, options: CallOptions) {
        let createdAt = ContinuousClock.now
        let methodConfig = channel.methodConfig(for: method)
        var options = methodConfig.map { options.applying($0) } ?? options
        // Observability starts the call's span here, in the caller's task (its
        // ServiceContext is the parent), and writes the trace context into the metadata.
        let record = channel.observer?.callStarted(method, metadata: &options.metadata)
        self.channel = channel
        self.method = method
        self.options = options
        self.methodConfig = methodConfig
        self.createdAt = createdAt
        self.interception = ClientInterception(channel: channel, options: options)
        let stream = ClientStream(
            method: method,
            options: options,
            deadline: options.effectiveDeadline(now: createdAt),
            maximumMessageSize: Self.responseSizeLimit(options, channel: channel, methodConfig: methodConfig),
            windowSize: channel.configuration.streamWindowSize,
            retryPolicy: methodConfig?.retryPolicy,
            retryBufferLimit: channel.configuration.retryBufferSize,
            record: record
        )
        self.backpressure = stream.backpressure
        self.stream = NIOLoopBoundBox.makeBoxSendingValue(stream, eventLoop: channel.eventLoop)
    }

    private var eventLoop: any EventLoop { self.channel.eventLoop }

    /// The call as interceptors first see it.
    private var interceptorCall: ClientInterceptorCall {
        ClientInterceptorCall(method: self.method, options: self.options)
    }

    // MARK: The one path

    /// Envelopes `request` (when the call has one) and hands the call to the loop:
    /// `settled` are the options the interceptor chain settled on (nil on the direct
    /// path), `unaryWaiter` waits for a unary call's result. (A continuation rather than a
    /// closure: the unary fast path allocates no closure context for it.)
    private func begin(
        request: (any SwiftProtobuf.Message)?,
        settled: CallOptions?,
        unaryWaiter: CheckedContinuation<ClientStream.UnaryResult, any Error>? = nil
    ) throws(RPCError) {
        let compression = (settled ?? self.options).compression
        let envelope = try request.map { (request) throws(RPCError) in
            try EnvelopeWriter.write(request, compression: compression, allocator: ByteBufferAllocator())
        }
        if let envelope, let limit = self.methodConfig?.maxRequestMessageBytes {
            try Self.checkRequestSize(envelope, limit: limit)
        }
        let box = self.stream
        let core = self.channel.core
        let eventLoop = self.eventLoop
        let createdAt = self.createdAt
        // A unary method with a hedging policy sends its request on attempts of their own.
        let hedging = self.method.kind == .unary ? self.methodConfig?.hedgingPolicy : nil
        let attemptSettings = hedging.map { _ in self.attemptSettings }
        eventLoop.execute {
            let stream = box.value
            if let settled { stream.apply(settled, createdAt: createdAt) }
            if let unaryWaiter { stream.receiveUnary(unaryWaiter) }
            guard let hedging, let attemptSettings, let envelope else {
                if let envelope { stream.send(envelope, end: true, tracked: false) }
                return Self.begin(stream, core: core.value, eventLoop: eventLoop)
            }
            guard !stream.isFinished else { return }
            Self.armDeadline(stream, eventLoop: eventLoop)
            HedgedUnaryCall(call: stream, policy: hedging, core: core.value, eventLoop: eventLoop) { index in
                let attempt = attemptSettings.makeStream(like: stream)
                attempt.hedgeIndex = index
                attempt.send(envelope, end: true, tracked: false)
                return attempt
            }.start()
        }
    }

    /// What a hedged call's attempts are made with: the call's own limits.
    private struct AttemptSettings: Sendable {
        var maximumMessageSize: Int
        var windowSize: Int

        /// A stream for one attempt of `call`: its method, options and deadline, no retry
        /// policy of its own.
        func makeStream(like call: ClientStream) -> ClientStream {
            ClientStream(
                method: call.method,
                options: call.options,
                deadline: call.deadline,
                maximumMessageSize: self.maximumMessageSize,
                windowSize: self.windowSize
            )
        }
    }

    private var attemptSettings: AttemptSettings {
        AttemptSettings(
            maximumMessageSize: Self.responseSizeLimit(
                self.options, channel: self.channel, methodConfig: self.methodConfig),
            windowSize: self.channel.configuration.streamWindowSize
        )
    }

    /// The largest response message a call takes: the call's limit, else the channel's,
    /// and never more than the service config's.
    private static func responseSizeLimit(
        _ options: CallOptions, channel: GRPCChannel, methodConfig: MethodConfig?
    ) -> Int {
        min(
            options.maximumReceiveMessageSize ?? channel.configuration.maximumReceiveMessageSize,
            methodConfig?.maxResponseMessageBytes ?? .max
        )
    }

    /// Cancels the call; on the loop.
    func cancel(_ error: RPCError = RPCError(.cancelled, "the call was cancelled by the client")) {
        let box = self.stream
        self.eventLoop.execute { box.value.cancel(error) }
    }

    // MARK: Unary

    /// Starts a unary call and returns its response with its metadata.
    func unary<Response: SwiftProtobuf.Message>(
        _ request: some SwiftProtobuf.Message,
        responseType: Response.Type
    ) async throws -> UnaryResponse<Response> {
        guard let interception = self.interception else {
            try GRPCHeaders.checkMetadata(self.options.metadata, calling: self.method)
            return try await self.runUnary(request, settled: nil, observers: nil)
        }
        let task = interception.launch(
            self.interceptorCall, stream: self.stream, eventLoop: self.eventLoop, gate: CallStartGate()
        ) {
            call -> UnaryResponse<Response> in
            call.observers.request(request)
            return try await self.runUnary(request, settled: call.options, observers: call.observers)
        }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            self.cancel()
        }
    }

    /// Begins the unary call and waits for its result.
    private func runUnary<Response: SwiftProtobuf.Message>(
        _ request: some SwiftProtobuf.Message,
        settled: CallOptions?,
        observers: MessageObservers?
    ) async throws -> UnaryResponse<Response> {
        let result = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<ClientStream.UnaryResult, any Error>) in
                do {
                    try self.begin(request: request, settled: settled, unaryWaiter: continuation)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            self.cancel()
        }
        let message = try ProtobufCodec.decode(
            Response.self, from: result.message, what: "the response of \(self.method)")
        observers?.response(message)
        return UnaryResponse(message: message, metadata: result.metadata, trailingMetadata: result.trailingMetadata)
    }

    // MARK: Streaming

    /// Starts a streaming call; `request` is a server-streaming call's one request. Its
    /// failures (bad metadata, a request that does not serialize) fail the stream.
    /// Returns the gate its requests wait on when the call goes through interceptors.
    func startStreaming(request: (any SwiftProtobuf.Message)?) -> CallStartGate? {
        guard let interception = self.interception else {
            do {
                try GRPCHeaders.checkMetadata(self.options.metadata, calling: self.method)
                try self.begin(request: request, settled: nil)
            } catch {
                self.cancel(error)
            }
            return nil
        }
        let gate = CallStartGate()
        let box = self.stream
        let eventLoop = self.eventLoop
        _ = interception.launch(self.interceptorCall, stream: box, eventLoop: eventLoop, gate: gate) { call in
            if let request { call.observers.request(request) }
            try self.begin(request: request, settled: call.options)
            gate.open(.init(observers: call.observers, compression: call.options.compression))
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                eventLoop.execute { box.value.whenFinished(continuation) }
            }
        }
        return gate
    }

    /// Throws RESOURCE_EXHAUSTED when an enveloped request is larger than the service
    /// config's `maxRequestMessageBytes`, before it is sent.
    static func checkRequestSize(_ envelope: ByteBuffer, limit: Int) throws(RPCError) {
        let size = envelope.readableBytes - Envelope.prefixLength
        guard size <= limit else {
            throw RPCError(.resourceExhausted, "request message larger than max (\(size) vs. \(limit) bytes)")
        }
    }

    // MARK: On the loop

    /// Arms the deadline and hands the stream to the channel's core. On the loop.
    static func begin(_ stream: ClientStream, core: ChannelCore, eventLoop: any EventLoop) {
        guard !stream.isFinished else { return }
        Self.armDeadline(stream, eventLoop: eventLoop)
        core.start(stream)
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
