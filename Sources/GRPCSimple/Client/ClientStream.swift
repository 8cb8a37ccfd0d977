import NIOCore
import NIOHPACK
import NIOHTTP2

/// One call on the client: its requests waiting for a connection, its received
/// messages, and its final status. Lives on the channel's event loop; the caller's task
/// reaches it through `ClientCall` (streaming calls) or `ClientCallStart` (every call).
///
/// `ClientStreamStateMachine` decides what may happen; this class keeps the messages and
/// writes the frames.
final class ClientStream: GatheringStream {
    let method: MethodDescriptor
    private(set) var options: CallOptions
    private(set) var deadline: ContinuousClock.Instant?
    let backpressure = WriteBackpressure()

    private(set) var id: HTTP2StreamID?
    private var connection: ClientConnectionHandler?
    private var machine = ClientStreamStateMachine()
    /// The requests waiting for a stream, and those kept to start the call again
    /// (transparent retries, the retry policy).
    private var attempts: CallAttempts
    /// Requests sent since the last flush, not yet written as a DATA frame.
    private var outbound = OutboundMessages()
    var inbound: InboundMessages
    /// The channel's core, which starts the call again after a retry's delay (and holds
    /// the brake on retries); set when the call first goes to it.
    weak var core: ChannelCore?

    var responseMetadata: Metadata?
    var outcome: Result<Metadata, RPCError>?

    var unaryWaiter: CheckedContinuation<UnaryResult, any Error>?
    var metadataWaiters: [CheckedContinuation<Metadata, any Error>] = []
    /// Run once, with the outcome, when the call ends.
    var finishCallbacks: [(Result<Metadata, RPCError>) -> Void] = []
    var deadlineTimer: Scheduled<Void>?
    /// What observability records about this call; nil when it is off.
    var record: ClientCallRecord?
    /// A hedged attempt's number (0 for the first): what its `grpc-previous-rpc-attempts` says.
    var hedgeIndex = 0
    /// Told how the current attempt ended, when its pick asked (`PickResult.trackedSubchannel`);
    /// nil otherwise, which is the common case.
    var onAttemptEnded: ((StatusCode) -> Void)?

    init(
        method: MethodDescriptor,
        options: CallOptions,
        deadline: ContinuousClock.Instant?,
        maximumMessageSize: Int,
        windowSize: Int,
        retryPolicy: RetryPolicy? = nil,
        retryBufferLimit: Int = 256 * 1024,
        record: ClientCallRecord? = nil
    ) {
        self.record = record
        self.method = method
        self.options = options
        self.deadline = deadline
        self.inbound = InboundMessages(maximumMessageSize: maximumMessageSize, windowSize: windowSize)
        self.attempts = CallAttempts(policy: retryPolicy, bufferLimit: retryBufferLimit)
    }

    var path: String { self.method.path }
    var isFinished: Bool { self.machine.isFinished }

    /// Takes the options the interceptor chain settled on, before the call starts; the
    /// deadline counts from `createdAt`, when the caller made the call.
    func apply(_ options: CallOptions, createdAt: ContinuousClock.Instant) {
        self.options = options
        self.deadline = options.effectiveDeadline(now: createdAt)
    }

    // MARK: Starting on a connection

    /// The connection assigned a stream ID: send the headers and any waiting messages.
    func start(id: HTTP2StreamID, on connection: ClientConnectionHandler, authority: String, scheme: String) {
        guard case .start(let endStream) = self.machine.start() else { return }
        self.id = id
        self.connection = connection
        if self.record?.span != nil {
            self.record?.connected(to: connection.context?.channel.remoteAddress)
        }
        let previousAttempts = self.attempts.attemptsMade - 1 + self.hedgeIndex
        let messages = self.attempts.takeUnwritten()
        let endsWithHeaders = endStream && messages.isEmpty
        connection.write(
            HTTP2Frame(
                streamID: id,
                payload: .headers(
                    .init(
                        headers: GRPCHeaders.request(
                            path: self.method.path, authority: authority, scheme: scheme, options: self.options,
                            deadline: self.deadline, previousAttempts: previousAttempts), endStream: endsWithHeaders))))
        for (index, message) in zip(messages.indices, messages) {
            self.record?.sent(envelopeBytes: message.bytes.readableBytes)
            connection.writeData(
                message.bytes,
                stream: id,
                endStream: endStream && index == messages.endIndex - 1,
                trackedBytes: message.trackedBytes,
                backpressure: self.backpressure
            )
        }
        connection.requestWritten()
        connection.scheduleFlush()
    }

    /// Whether this call is on `connection`'s stream `id` (and not on a later attempt).
    func isOn(_ connection: ClientConnectionHandler, id: HTTP2StreamID) -> Bool {
        self.connection === connection && self.id == id
    }

    /// The server never processed this call (GOAWAY past it, or REFUSED_STREAM): make it
    /// ready to start again on another connection, if its messages are kept and no response
    /// has arrived. Returns false when the call cannot be retried.
    func prepareForRetry() -> Bool {
        guard !self.isFinished, self.machine.response == .awaitingHeaders, self.attempts.transparentRetry() else {
            return false
        }
        // Its stream is refused or past the server's GOAWAY: nothing to reset.
        self.detachForNewAttempt(reset: false, resetIfSending: false)
        self.record?.attemptEnded(.unavailable)
        self.reportAttemptEnded(.unavailable)
        return true
    }

    /// Leaves the current stream (resetting it if we are still sending on it) to start
    /// again on a new one.
    private func detachForNewAttempt(reset: Bool, resetIfSending: Bool = true) {
        if let id = self.id, let connection = self.connection,
            reset || (resetIfSending && self.machine.request == .open)
        {
            connection.write(HTTP2Frame(streamID: id, payload: .rstStream(.cancel)))
            connection.scheduleFlush()
        }
        _ = self.machine.prepareForRetry()
        self.id = nil
        self.connection = nil
        if let (_, tracked) = self.outbound.take() { self.dropped(tracked) }
        self.inbound.restart()
    }

    // MARK: Writing, for the caller

    /// Sends an enveloped request; `end` also closes the request side. `tracked` messages
    /// were counted by the back-pressure and are reported to it once written.
    func send(_ envelope: ByteBuffer, end: Bool, tracked: Bool) {
        let trackedBytes = tracked ? envelope.readableBytes : 0
        switch self.machine.sendMessage(end: end) {
        case .buffer:
            self.attempts.queue(envelope, trackedBytes: trackedBytes, end: end)
        case .gather, .gatherAndEnd:
            guard let connection = self.connection else { return self.dropped(trackedBytes) }
            self.attempts.wrote(envelope, end: end)
            self.record?.sent(envelopeBytes: envelope.readableBytes)
            // Gathered like the server's responses: one DATA frame per flush.
            let appended = self.outbound.append(envelope, trackedBytes: trackedBytes)
            if appended.isFirst {
                connection.hasPendingData(self)
            }
            if end {
                self.writePendingData(endStream: true)
            } else if appended.isFull {
                self.writePendingData()
            }
            connection.scheduleFlush()
        case .drop:
            self.dropped(trackedBytes)
        }
    }

    /// Closes the request side: the server sees the end of the request stream.
    func closeSend() {
        self.attempts.recordEnd()
        guard self.machine.closeRequest() == .writeEnd, let connection = self.connection else { return }
        self.writePendingData(endStream: true)
        connection.scheduleFlush()
    }

    /// Writes the gathered request messages as one DATA frame. Called by the connection
    /// before it flushes.
    func writePendingData() {
        self.writePendingData(endStream: false)
    }

    /// Writes the gathered request messages as one DATA frame, with END_STREAM when
    /// `endStream` (an empty frame when only the end is left to send).
    private func writePendingData(endStream: Bool) {
        let taken = self.outbound.take()
        guard taken != nil || endStream else { return }
        let tracked = taken?.trackedBytes ?? 0
        guard let connection = self.connection, let id = self.id, !self.isFinished else {
            return self.dropped(tracked)
        }
        connection.writeData(
            taken?.data ?? ByteBuffer(), stream: id, endStream: endStream, trackedBytes: tracked,
            backpressure: self.backpressure)
        connection.requestWritten()
    }

    private func dropped(_ trackedBytes: Int) {
        if trackedBytes > 0 { self.backpressure.complete(trackedBytes) }
    }

    // MARK: Inbound, from the connection

    func receiveHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        switch self.machine.receiveHeaders(endStream: endStream) {
        case .drop:
            return
        case .protocolViolation(let message):
            self.finish(.failure(RPCError(.internal, message)), resetStream: true)
        case .readTrailers:
            self.finishWithStatus(GRPCHeaders.status(from: headers))
        case .readHead:
            switch ResponseHead.parse(headers, endStream: endStream) {
            case .invalid(let error, let resetStream):
                self.failAttempt(error, resetStream: resetStream)
            case .trailersOnly(let status, let metadata):
                self.responseMetadata = Metadata()
                self.finishWithStatus((status, metadata))
            case .headers(let metadata, let encoding):
                self.machine.headReceived()
                self.attempts.commit()
                self.inbound.encoding = encoding
                self.responseMetadata = metadata
                let waiters = self.metadataWaiters
                self.metadataWaiters = []
                for waiter in waiters { waiter.resume(returning: metadata) }
            }
        }
    }

    private func finishWithStatus(_ received: (Status, Metadata)) {
        let (status, metadata) = received
        if status.code == .ok {
            self.core?.retryThrottle?.recordSuccess()
            self.finish(.success(metadata), resetStream: false)
        } else {
            self.failAttempt(
                RPCError(status.code, status.message, trailingMetadata: metadata, details: status.details),
                resetStream: false
            )
        }
    }

    func receiveData(_ data: ByteBuffer, endStream: Bool, flowControlledLength: Int) {
        switch self.machine.receiveData() {
        case .drop:
            return
        case .protocolViolation(let message):
            return self.finish(.failure(RPCError(.internal, message)), resetStream: true)
        case .deliver:
            break
        }
        do {
            try self.inbound.receive(data, flowControlledLength: flowControlledLength)
        } catch {
            return self.finish(.failure(RPCError(error.status.code, error.status.message)), resetStream: true)
        }
        self.record?.received(dataBytes: data.readableBytes, messages: self.inbound.receivedCount)
        if endStream {
            return self.finish(
                .failure(RPCError(.internal, "the server closed the stream without sending trailers")),
                resetStream: false
            )
        }
        self.grantWindowIfDue()
    }

    func receiveReset(_ code: HTTP2ErrorCode) {
        let error: RPCError
        switch code {
        case .cancel: error = RPCError(.cancelled, "the server cancelled the call (RST_STREAM CANCEL)")
        case .refusedStream: error = RPCError(.unavailable, "the server refused the stream before processing it")
        case .enhanceYourCalm: error = RPCError(.resourceExhausted, "the server reset the stream: ENHANCE_YOUR_CALM")
        case .noError where self.isFinished: return
        default: error = RPCError(.internal, "the server reset the stream (\(code))")
        }
        self.failAttempt(error, resetStream: false)
    }

    func grantWindowIfDue() {
        guard self.machine.response == .receiving, let id = self.id, let connection = self.connection else { return }
        if connection.grantWindowIfDue(stream: id, &self.inbound) {
            connection.scheduleFlush()
        }
    }

    // MARK: Ending

    /// Ends the call from this side (the caller cancelled, the deadline passed, the
    /// connection failed); resets the stream on the wire if it was started.
    func cancel(_ error: RPCError) {
        if error.code == .cancelled || error.code == .deadlineExceeded {
            // The client gave up on the call itself (its caller, or its deadline): that says
            // nothing of the server, so the policy that picked it does not hear of it.
            self.onAttemptEnded = nil
        }
        self.finish(.failure(error), resetStream: true)
    }

    /// The connection closed under the call.
    func connectionClosed(_ error: RPCError) {
        self.connection = nil
        self.failAttempt(error, resetStream: false)
    }

    /// This attempt failed with `error` (from the server or its connection): the call
    /// starts again if its retry policy says so, and ends with `error` otherwise.
    private func failAttempt(_ error: RPCError, resetStream: Bool) {
        if !self.isFinished, self.machine.response == .awaitingHeaders, let core = self.core {
            let pushback = error.trailingMetadata["grpc-retry-pushback-ms"]
            if case .retry(let delay) = self.attempts.decide(
                after: Status(error), pushback: pushback, throttle: core.retryThrottle)
            {
                self.detachForNewAttempt(reset: resetStream)
                self.record?.attemptEnded(error.code)
                self.reportAttemptEnded(error.code)
                core.start(self, after: delay)
                return
            }
        }
        self.finish(.failure(error), resetStream: resetStream)
    }

    /// The call is on a channel: what it keeps for retries counts against the channel's
    /// bound.
    func shareRetryBuffer(_ budget: RetryBufferBudget) {
        self.attempts.share(budget)
    }

    /// Ends a hedged unary call with the result its attempts settled on. The call's own
    /// stream never went to a connection: its attempts did (`HedgedUnaryCall`).
    func finishHedged(_ result: Result<UnaryResult, RPCError>) {
        let waiter = self.unaryWaiter
        self.unaryWaiter = nil
        switch result {
        case .success(let response):
            self.responseMetadata = response.metadata
            self.finish(.success(response.trailingMetadata), resetStream: false)
        case .failure(let error):
            self.finish(.failure(error), resetStream: false)
        }
        waiter?.resume(with: result.mapError { $0 as any Error })
    }

    /// Tells the policy that picked this attempt's subchannel how it ended, once.
    private func reportAttemptEnded(_ code: StatusCode) {
        guard let onAttemptEnded = self.onAttemptEnded else { return }
        self.onAttemptEnded = nil
        onAttemptEnded(code)
    }

    private func finish(_ outcome: Result<Metadata, RPCError>, resetStream: Bool) {
        guard self.machine.finish() else { return }
        self.outcome = outcome
        self.record?.end(outcome)
        if self.onAttemptEnded != nil {
            switch outcome {
            case .success: self.reportAttemptEnded(.ok)
            case .failure(let error): self.reportAttemptEnded(error.code)
            }
        }
        self.deadlineTimer?.cancel()
        self.deadlineTimer = nil
        // Requests the call will never send.
        if let (_, tracked) = self.outbound.take() { self.dropped(tracked) }
        self.dropped(self.attempts.dropAll())
        if resetStream, let id = self.id, let connection = self.connection {
            connection.write(HTTP2Frame(streamID: id, payload: .rstStream(.cancel)))
            connection.scheduleFlush()
        }
        switch outcome {
        case .success:
            self.backpressure.fail(RPCError(.failedPrecondition, "the call has already finished"))
        case .failure(let error):
            self.backpressure.fail(error)
        }
        self.inbound.wakeReader(with: outcome.map { _ in () })
        if let waiter = self.unaryWaiter {
            self.unaryWaiter = nil
            waiter.resume(with: self.unaryResult())
        }
        let metadataWaiters = self.metadataWaiters
        self.metadataWaiters = []
        for waiter in metadataWaiters {
            switch outcome {
            case .success: waiter.resume(returning: self.responseMetadata ?? [:])
            case .failure(let error): waiter.resume(throwing: error)
            }
        }
        let finishCallbacks = self.finishCallbacks
        self.finishCallbacks = []
        for callback in finishCallbacks { callback(outcome) }
    }
}
