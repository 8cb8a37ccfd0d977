import NIOCore
import NIOHPACK
import NIOHTTP2

/// One call on the client: its requests waiting for a connection, its received
/// messages, and its final status. Lives on the channel's event loop; the caller's task
/// reaches it through `ClientCall`.
final class ClientStream: GatheringStream {
    /// What the caller of a unary call gets back.
    struct UnaryResult {
        var message: ByteBuffer
        var metadata: Metadata
        var trailingMetadata: Metadata
    }

    private enum RequestState {
        /// Not on a connection yet: messages wait here.
        case pending(messages: [PendingMessage], ended: Bool)
        case open
        case closed
    }

    /// A request message not yet written; `tracked` ones count in the back-pressure.
    private struct PendingMessage {
        var bytes: ByteBuffer
        var tracked: Bool
    }

    private enum ResponseState {
        case awaitingHeaders
        case receiving
        case finished
    }

    let path: String
    private(set) var options: CallOptions
    private(set) var deadline: ContinuousClock.Instant?
    let backpressure = WriteBackpressure()
    private let maximumMessageSize: Int
    private let windowSize: Int

    /// Request messages sent since the last flush, not yet written as a DATA frame.
    private var pendingData: ByteBuffer?
    /// How many of `pendingData`'s bytes the back-pressure counts.
    private var pendingTrackedBytes = 0

    private(set) var id: HTTP2StreamID?
    private var connection: ClientConnectionHandler?
    private var requestState = RequestState.pending(messages: [], ended: false)
    private var responseState = ResponseState.awaitingHeaders
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

    init(path: String, options: CallOptions, deadline: ContinuousClock.Instant?, maximumMessageSize: Int, windowSize: Int) {
        self.path = path
        self.options = options
        self.deadline = deadline
        self.maximumMessageSize = maximumMessageSize
        self.windowSize = windowSize
        self.inbound = InboundMessages(maximumMessageSize: maximumMessageSize, windowSize: windowSize)
    }

    var isFinished: Bool { self.outcome != nil }

    /// Takes the options the interceptor chain settled on, before the call starts; the
    /// deadline counts from `createdAt`, when the caller made the call.
    func apply(_ options: CallOptions, createdAt: ContinuousClock.Instant) {
        self.options = options
        self.deadline = options.effectiveDeadline(now: createdAt)
    }

    // MARK: Starting on a connection

    /// The connection assigned a stream ID: send the headers and any waiting messages.
    func start(id: HTTP2StreamID, on connection: ClientConnectionHandler, authority: String, scheme: String) {
        guard !self.isFinished, case .pending(let messages, let ended) = self.requestState else { return }
        self.id = id
        self.connection = connection
        var headers: HPACKHeaders = [
            ":method": "POST",
            ":scheme": scheme,
            ":path": self.path,
            ":authority": authority,
            "content-type": GRPCHeaders.contentType,
            "te": "trailers",
            "user-agent": GRPCHeaders.userAgent,
            "grpc-accept-encoding": CompressionAlgorithm.acceptEncoding,
        ]
        if self.options.compression != .identity {
            headers.add(name: "grpc-encoding", value: self.options.compression.name)
        }
        if let deadline = self.deadline {
            let remaining = ContinuousClock.now.duration(to: deadline)
            headers.add(name: "grpc-timeout", value: GRPCTimeout.format(nanoseconds: remaining.clampedNanoseconds))
        }
        GRPCHeaders.append(self.options.metadata, to: &headers)
        let endsWithHeaders = ended && messages.isEmpty
        connection.write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: endsWithHeaders))))
        for (index, message) in messages.enumerated() {
            let isLast = ended && index == messages.count - 1
            connection.writeData(
                message.bytes,
                stream: id,
                endStream: isLast,
                trackedBytes: message.tracked ? message.bytes.readableBytes : 0,
                backpressure: self.backpressure
            )
        }
        self.replay = ended ? messages : nil  // shares the array's storage: no copy per call
        self.requestState = ended ? .closed : .open
        connection.scheduleFlush()
    }


    // MARK: Writing, for the caller

    /// Sends a framed request; `end` also closes the request side. `tracked` messages
    /// were counted by the back-pressure and are reported to it once written.
    func send(_ framed: ByteBuffer, end: Bool, tracked: Bool) {
        switch self.requestState {
        case .pending(var messages, let ended) where !ended:
            messages.append(PendingMessage(bytes: framed, tracked: tracked))
            self.requestState = .pending(messages: messages, ended: end)
        case .open:
            guard let connection = self.connection else { return self.dropped(framed, tracked: tracked) }
            // Gathered like the server's responses: one DATA frame per flush.
            if tracked { self.pendingTrackedBytes += framed.readableBytes }
            if self.pendingData == nil {
                self.pendingData = framed
                connection.hasPendingData(self)
            } else {
                self.pendingData!.writeImmutableBuffer(framed)
            }
            if end {
                self.requestState = .closed
                self.writePendingData(endStream: true)
            } else if self.pendingData!.readableBytes >= ServerStream.coalescingLimit {
                self.writePendingData()
            }
            connection.scheduleFlush()
        case .pending, .closed:
            self.dropped(framed, tracked: tracked)
        }
    }

    /// The server never processed this call (GOAWAY past it, or REFUSED_STREAM): make it
    /// ready to start again on another connection, if its whole request is known and no
    /// response has arrived. Returns false when the call cannot be retried.
    func prepareForRetry() -> Bool {
        guard !self.isFinished, self.responseState == .awaitingHeaders, let replay = self.replay,
            self.transparentRetries < 3
        else { return false }
        self.transparentRetries += 1
        self.id = nil
        self.connection = nil
        self.replay = nil
        // Replayed bytes were already reported to the back-pressure on their first write.
        self.requestState = .pending(messages: replay.map { PendingMessage(bytes: $0.bytes, tracked: false) }, ended: true)
        return true
    }

    /// Closes the request side: the server sees the end of the request stream.
    func closeSend() {
        switch self.requestState {
        case .pending(let messages, _):
            self.requestState = .pending(messages: messages, ended: true)
        case .open:
            self.requestState = .closed
            guard let connection = self.connection, !self.isFinished else { return }
            self.writePendingData(endStream: true)
            connection.scheduleFlush()
        case .closed:
            break
        }
    }

    /// Writes the gathered request messages as one DATA frame (an empty one when only
    /// the end of the request is left to send). Called by the connection before it
    /// flushes, and when the request side closes.
    func writePendingData() {
        self.writePendingData(endStream: false)
    }

    func writePendingData(endStream: Bool) {
        guard self.pendingData != nil || endStream else { return }
        let data = self.pendingData ?? ByteBuffer()
        self.pendingData = nil
        let tracked = self.pendingTrackedBytes
        self.pendingTrackedBytes = 0
        guard let connection = self.connection, let id = self.id, !self.isFinished else {
            if tracked > 0 { self.backpressure.complete(tracked) }
            return
        }
        connection.writeData(data, stream: id, endStream: endStream, trackedBytes: tracked, backpressure: self.backpressure)
    }

    private func dropped(_ framed: ByteBuffer, tracked: Bool) {
        if tracked { self.backpressure.complete(framed.readableBytes) }
    }

    // MARK: Inbound, from the connection

    func receiveHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        switch self.responseState {
        case .finished:
            return
        case .awaitingHeaders:
            let httpStatus = headers.first(name: ":status").flatMap { Int($0) } ?? 0
            if httpStatus != 200 {
                let (status, metadata) = GRPCHeaders.status(from: headers)
                let message = headers.first(name: "grpc-status") == nil
                    ? "the server answered HTTP \(httpStatus), not gRPC" : status.message
                let code = headers.first(name: "grpc-status") == nil ? StatusCode(httpStatus: httpStatus) : status.code
                return self.finish(.failure(RPCError(code, message, trailingMetadata: metadata)), resetStream: !endStream)
            }
            if endStream {
                // Trailers-only: the status is in these headers.
                self.responseMetadata = Metadata()
                return self.finishWithTrailers(headers)
            }
            guard GRPCHeaders.isGRPCContentType(headers.first(name: "content-type")) else {
                let contentType = headers.first(name: "content-type") ?? ""
                return self.finish(
                    .failure(RPCError(.unknown, "the server answered with content-type '\(contentType)', not gRPC")),
                    resetStream: true
                )
            }
            if let encoding = headers.first(name: "grpc-encoding") {
                guard let known = CompressionAlgorithm(encodingName: encoding) else {
                    return self.finish(
                        .failure(RPCError(.internal, "the server used grpc-encoding '\(encoding)', which this client does not support")),
                        resetStream: true
                    )
                }
                self.inbound.encoding = known
            }
            switch GRPCHeaders.metadata(from: headers) {
            case .success(let metadata):
                self.responseMetadata = metadata
                self.responseState = .receiving
                let waiters = self.metadataWaiters
                self.metadataWaiters = []
                for waiter in waiters { waiter.resume(returning: metadata) }
            case .failure(let error):
                self.finish(.failure(error), resetStream: true)
            }
        case .receiving:
            guard endStream else {
                return self.finish(
                    .failure(RPCError(.internal, "the server sent a second header block that does not end the stream")),
                    resetStream: true
                )
            }
            self.finishWithTrailers(headers)
        }
    }

    private func finishWithTrailers(_ trailers: HPACKHeaders) {
        let (status, metadata) = GRPCHeaders.status(from: trailers)
        if status.code == .ok {
            self.finish(.success(metadata), resetStream: false)
        } else {
            self.finish(.failure(RPCError(status.code, status.message, trailingMetadata: metadata)), resetStream: false)
        }
    }

    func receiveData(_ data: ByteBuffer, endStream: Bool, flowControlledLength: Int) {
        guard self.responseState == .receiving else {
            if self.responseState == .awaitingHeaders {
                self.finish(.failure(RPCError(.internal, "the server sent data before headers")), resetStream: true)
            }
            return
        }
        do {
            try self.inbound.receive(data, flowControlledLength: flowControlledLength)
        } catch {
            return self.finish(.failure(RPCError(code: error.status.code, message: error.status.message)), resetStream: true)
        }
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
        case .noError where self.responseState == .finished: return
        default: error = RPCError(.internal, "the server reset the stream (\(code))")
        }
        self.finish(.failure(error), resetStream: false)
    }

    private func grantWindowIfDue() {
        guard self.responseState == .receiving, let id = self.id, let connection = self.connection,
            let increment = self.inbound.windowUpdate()
        else { return }
        connection.write(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: increment)))
        connection.scheduleFlush()
    }

    // MARK: Reading, for the caller

    func receive(_ continuation: CheckedContinuation<ByteBuffer?, any Error>) {
        if let message = self.inbound.take() {
            self.grantWindowIfDue()
            return continuation.resume(returning: message)
        }
        switch self.outcome {
        case .success: continuation.resume(returning: nil)
        case .failure(let error): continuation.resume(throwing: error)
        case nil: self.inbound.park(.one(continuation))
        }
    }

    /// Every response message received so far, or waits for the next ones; no messages
    /// means the call ended successfully.
    func receiveAll(_ continuation: CheckedContinuation<[ByteBuffer], any Error>) {
        let messages = self.inbound.takeAll()
        if !messages.isEmpty {
            self.grantWindowIfDue()
            return continuation.resume(returning: messages)
        }
        switch self.outcome {
        case .success: continuation.resume(returning: [])
        case .failure(let error): continuation.resume(throwing: error)
        case nil: self.inbound.park(.all(continuation))
        }
    }

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
                return .failure(RPCError(.internal, "\(self.path) should return one response message; the server sent \(count)"))
            }
            return .success(UnaryResult(message: message, metadata: self.responseMetadata ?? [:], trailingMetadata: trailers))
        case .failure(let error):
            return .failure(error)
        case nil:
            return .failure(RPCError(.internal, "the call is not finished"))
        }
    }

    func metadata(_ continuation: CheckedContinuation<Metadata, any Error>) {
        if let metadata = self.responseMetadata {
            continuation.resume(returning: metadata)
        } else if case .failure(let error) = self.outcome {
            continuation.resume(throwing: error)
        } else {
            self.metadataWaiters.append(continuation)
        }
    }

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

    func connectionClosed(_ error: RPCError) {
        self.finish(.failure(error), resetStream: false)
        self.connection = nil
    }

    private func finish(_ outcome: Result<Metadata, RPCError>, resetStream: Bool) {
        guard self.outcome == nil else { return }
        self.outcome = outcome
        self.responseState = .finished
        self.deadlineTimer?.cancel()
        self.deadlineTimer = nil
        if self.pendingData != nil {
            // Gathered requests the call will never send.
            self.pendingData = nil
            self.backpressure.complete(self.pendingTrackedBytes)
            self.pendingTrackedBytes = 0
        }
        if resetStream, let id = self.id, let connection = self.connection {
            connection.write(HTTP2Frame(streamID: id, payload: .rstStream(.cancel)))
            connection.scheduleFlush()
        }
        if case .pending(let messages, _) = self.requestState {
            for message in messages { self.dropped(message.bytes, tracked: message.tracked) }
        }
        self.requestState = .closed

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
