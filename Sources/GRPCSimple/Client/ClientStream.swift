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
    /// What the caller of a unary call gets back.
    struct UnaryResult {
        var message: ByteBuffer
        var metadata: Metadata
        var trailingMetadata: Metadata
    }

    /// A request message not yet written; its `trackedBytes` count in the back-pressure.
    private struct PendingMessage {
        var bytes: ByteBuffer
        var trackedBytes: Int
    }

    let method: MethodDescriptor
    private(set) var options: CallOptions
    private(set) var deadline: ContinuousClock.Instant?
    let backpressure = WriteBackpressure()

    private(set) var id: HTTP2StreamID?
    private var connection: ClientConnectionHandler?
    private var machine = ClientStreamStateMachine()
    /// Requests made before the call had a stream.
    private var pending: [PendingMessage] = []
    /// Requests sent since the last flush, not yet written as a DATA frame.
    private var outbound = OutboundMessages()
    private var inbound: InboundMessages
    /// The whole request, kept when it was sent in full at start, so that a call the
    /// server never processed (GOAWAY, REFUSED_STREAM) can be retried transparently.
    private var replay: [PendingMessage]?
    private var transparentRetries = 0

    private var responseMetadata: Metadata?
    private var outcome: Result<Metadata, RPCError>?

    private var unaryWaiter: CheckedContinuation<UnaryResult, any Error>?
    private var metadataWaiters: [CheckedContinuation<Metadata, any Error>] = []
    /// Run once, with the outcome, when the call ends.
    private var finishCallbacks: [(Result<Metadata, RPCError>) -> Void] = []
    var deadlineTimer: Scheduled<Void>?
    /// What observability records about this call; nil when it is off.
    var record: ClientCallRecord?

    init(
        method: MethodDescriptor, options: CallOptions, deadline: ContinuousClock.Instant?, maximumMessageSize: Int,
        windowSize: Int, record: ClientCallRecord? = nil
    ) {
        self.record = record
        self.method = method
        self.options = options
        self.deadline = deadline
        self.inbound = InboundMessages(maximumMessageSize: maximumMessageSize, windowSize: windowSize)
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
        let messages = self.pending
        self.pending = []
        let endsWithHeaders = endStream && messages.isEmpty
        connection.write(
            HTTP2Frame(
                streamID: id,
                payload: .headers(
                    .init(
                        headers: GRPCHeaders.request(
                            path: self.method.path, authority: authority, scheme: scheme, options: self.options,
                            deadline: self.deadline), endStream: endsWithHeaders))))
        for (index, message) in messages.enumerated() {
            connection.writeData(
                message.bytes,
                stream: id,
                endStream: endStream && index == messages.count - 1,
                trackedBytes: message.trackedBytes,
                backpressure: self.backpressure
            )
        }
        self.replay = endStream ? messages : nil  // shares the array's storage: no copy per call
        connection.scheduleFlush()
    }

    /// The server never processed this call (GOAWAY past it, or REFUSED_STREAM): make it
    /// ready to start again on another connection, if its whole request is known and no
    /// response has arrived. Returns false when the call cannot be retried.
    func prepareForRetry() -> Bool {
        guard let replay = self.replay, self.transparentRetries < 3, self.machine.prepareForRetry() else {
            return false
        }
        self.transparentRetries += 1
        self.id = nil
        self.connection = nil
        self.replay = nil
        // Replayed bytes were already reported to the back-pressure on their first write.
        self.pending = replay.map { PendingMessage(bytes: $0.bytes, trackedBytes: 0) }
        return true
    }

    // MARK: Writing, for the caller

    /// Sends an enveloped request; `end` also closes the request side. `tracked` messages
    /// were counted by the back-pressure and are reported to it once written.
    func send(_ envelope: ByteBuffer, end: Bool, tracked: Bool) {
        let trackedBytes = tracked ? envelope.readableBytes : 0
        switch self.machine.sendMessage(end: end) {
        case .buffer:
            self.record?.sent(envelopeBytes: envelope.readableBytes)
            self.pending.append(PendingMessage(bytes: envelope, trackedBytes: trackedBytes))
        case .gather, .gatherAndEnd:
            guard let connection = self.connection else { return self.dropped(trackedBytes) }
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
                self.finish(.failure(error), resetStream: resetStream)
            case .trailersOnly(let status, let metadata):
                self.responseMetadata = Metadata()
                self.finishWithStatus((status, metadata))
            case .headers(let metadata, let encoding):
                self.machine.headReceived()
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
            self.finish(.success(metadata), resetStream: false)
        } else {
            self.finish(
                .failure(RPCError(status.code, status.message, trailingMetadata: metadata, details: status.details)),
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
        self.finish(.failure(error), resetStream: false)
    }

    private func grantWindowIfDue() {
        guard self.machine.response == .receiving, let id = self.id, let connection = self.connection else { return }
        if connection.grantWindowIfDue(stream: id, &self.inbound) {
            connection.scheduleFlush()
        }
    }

    // MARK: Reading, for the caller

    /// How reading ends once no message is left: nil while the call runs.
    private var readEnd: Result<Void, RPCError>? {
        self.outcome.map { $0.map { _ in () } }
    }

    /// The next response message, or nil at the end.
    func receive(_ continuation: CheckedContinuation<ByteBuffer?, any Error>) {
        if self.inbound.read(.one(continuation), ended: self.readEnd) {
            self.grantWindowIfDue()
        }
    }

    /// Every response message received so far, or waits for the next ones; no messages
    /// means the call ended successfully.
    func receiveAll(_ continuation: CheckedContinuation<[ByteBuffer], any Error>) {
        if self.inbound.read(.all(continuation), ended: self.readEnd) {
            self.grantWindowIfDue()
        }
    }

    /// The single response of a unary call, with its metadata, once the call ends.
    func receiveUnary(_ continuation: CheckedContinuation<UnaryResult, any Error>) {
        if self.isFinished {
            continuation.resume(with: self.unaryResult())
        } else {
            self.unaryWaiter = continuation
        }
    }

    private func unaryResult() -> Result<UnaryResult, any Error> {
        switch self.outcome {
        case .success(let trailers):
            guard self.inbound.receivedCount == 1, let message = self.inbound.first else {
                let count = self.inbound.receivedCount
                return .failure(
                    RPCError(.internal, "\(self.path) should return one response message; the server sent \(count)"))
            }
            return .success(
                UnaryResult(message: message, metadata: self.responseMetadata ?? [:], trailingMetadata: trailers))
        case .failure(let error):
            return .failure(error)
        case nil:
            return .failure(RPCError(.internal, "the call is not finished"))
        }
    }

    /// The response headers' metadata, once they arrive.
    func metadata(_ continuation: CheckedContinuation<Metadata, any Error>) {
        if let metadata = self.responseMetadata {
            continuation.resume(returning: metadata)
        } else if case .failure(let error) = self.outcome {
            continuation.resume(throwing: error)
        } else {
            self.metadataWaiters.append(continuation)
        }
    }

    /// The trailers' metadata, once the call ends.
    func trailingMetadata(_ continuation: CheckedContinuation<Metadata, any Error>) {
        self.onFinish { outcome in
            switch outcome {
            case .success(let trailers): continuation.resume(returning: trailers)
            case .failure(let error): continuation.resume(returning: error.trailingMetadata)
            }
        }
    }

    /// Returns when the call ends: normally when it ends with OK, throwing its error
    /// otherwise.
    func whenFinished(_ continuation: CheckedContinuation<Void, any Error>) {
        self.onFinish { outcome in continuation.resume(with: outcome.map { _ in () }.mapError { $0 as any Error }) }
    }

    /// Calls `callback` if the call fails (now, if it already has).
    func onFailure(_ callback: @escaping (RPCError) -> Void) {
        self.onFinish { outcome in
            if case .failure(let error) = outcome { callback(error) }
        }
    }

    /// Calls `callback` with the call's outcome when it ends (now, if it has).
    private func onFinish(_ callback: @escaping (Result<Metadata, RPCError>) -> Void) {
        if let outcome = self.outcome {
            callback(outcome)
        } else {
            self.finishCallbacks.append(callback)
        }
    }

    // MARK: Ending

    /// Ends the call from this side (the caller cancelled, the deadline passed, the
    /// connection failed); resets the stream on the wire if it was started.
    func cancel(_ error: RPCError) {
        self.finish(.failure(error), resetStream: true)
    }

    /// The connection closed under the call.
    func connectionClosed(_ error: RPCError) {
        self.finish(.failure(error), resetStream: false)
        self.connection = nil
    }

    private func finish(_ outcome: Result<Metadata, RPCError>, resetStream: Bool) {
        guard self.machine.finish() else { return }
        self.outcome = outcome
        self.record?.end(outcome)
        self.deadlineTimer?.cancel()
        self.deadlineTimer = nil
        // Requests the call will never send.
        if let (_, tracked) = self.outbound.take() { self.dropped(tracked) }
        for message in self.pending { self.dropped(message.trackedBytes) }
        self.pending = []
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
