import NIOCore
import NIOHPACK
import SwiftProtobuf

typealias SwiftProtobufMessage = SwiftProtobuf.Message

/// One call on a server connection: its state, its received messages, and the frames
/// it writes. Lives on the connection's event loop; the handler's task reaches it through
/// `ServerCall`.
final class ServerStream: GatheringStream {
    /// The HTTP/2 stream ID.
    let id: UInt32
    let path: String
    let kind: RPCKind
    let context: ServerContext
    let backpressure: WriteBackpressure?

    /// Nil once the call is over for the connection.
    var connection: (any ServerStreamConnection)?
    var machine = ServerStreamStateMachine()
    private var inbound: InboundMessages
    /// Why reading can no longer succeed, once the call was cut short.
    private var failure: RPCError?
    var task: Task<Void, Never>?
    var deadlineTimer: Scheduled<Void>?
    /// How this call's response messages are compressed, fixed when the headers go out.
    var responseEncoding = CompressionAlgorithm.identity
    /// What the client can read (its `grpc-accept-encoding`, parsed only when needed).
    private let acceptEncoding: String?
    /// Response messages sent since the last flush, not yet written as a DATA frame.
    private var outbound = OutboundMessages()
    /// How the response is written in the call's protocol.
    let framing: ResponseFraming
    /// The request body as envelopes, whatever the protocol.
    private var requestBody: RequestBodyDecoder
    /// The response message of a Connect unary call, held until the call ends: its status
    /// decides the HTTP status, so nothing is written before.
    var unaryResponse: ByteBuffer?

    /// The handler of a unary or server-streaming call, waiting for the call's one
    /// request: it starts once the request has ended, and then usually runs to its end
    /// right away, with no job on the event loop's queue.
    var pendingStart: PendingStart?
    /// Whether the handler has returned or thrown (its status is written).
    private(set) var handlerFinished = false
    /// What observability records about this call; nil when it is off.
    var record: ServerCallRecord?

    struct PendingStart {
        let handler: MethodHandler
        let call: ServerCall
    }

    init(
        id: UInt32,
        path: String,
        kind: RPCKind,
        context: ServerContext,
        connection: any ServerStreamConnection,
        maximumMessageSize: Int,
        windowSize: Int,
        requestEncoding: CompressionAlgorithm = .identity,
        acceptEncoding: String? = nil,
        framing: ResponseFraming = ResponseFraming(format: .grpc, allowedOrigin: nil)
    ) {
        self.acceptEncoding = acceptEncoding
        self.framing = framing
        self.requestBody = RequestBodyDecoder(
            wireProtocol: framing.format.wireProtocol, path: path, maximumMessageSize: maximumMessageSize)
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
        let envelopes: ByteBuffer?
        do {
            envelopes = try self.requestBody.receive(data)
        } catch {
            self.abort(status: Status(error))
            return
        }
        guard let envelopes else {
            // A whole body, held: it is all read before the handler starts, so its window
            // comes back at once (the decoder bounds what it holds).
            self.connection?.dataConsumed(streamID: self.id, bytes: flowControlledLength)
            self.record?.received(dataBytes: data.readableBytes, messages: 0)
            if endStream { self.receiveEnd() }
            return
        }
        do {
            try self.inbound.receive(envelopes, flowControlledLength: flowControlledLength)
        } catch {
            self.abort(status: error.status)
            return
        }
        self.record?.received(dataBytes: data.readableBytes, messages: self.inbound.receivedCount)
        if endStream {
            self.receiveEnd()
        }
        self.grantWindowIfDue()
    }

    func receiveEnd() {
        guard self.machine.receiveEnd() == .deliver else { return }
        let heldBody: ByteBuffer?
        do {
            heldBody = try self.requestBody.end(encoding: self.inbound.encoding)
        } catch {
            self.abort(status: Status(error))
            return
        }
        if let heldBody {
            // A held body becomes one envelope, read (inflated, size-checked) as every other.
            do {
                try self.inbound.receive(heldBody, flowControlledLength: 0)
            } catch {
                self.abort(status: error.status)
                return
            }
            self.record?.received(dataBytes: 0, messages: self.inbound.receivedCount)
        }
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
        let ended: Result<Void, RPCError>?
        if let failure = self.failure {
            ended = .failure(failure)
        } else {
            ended = self.machine.request == .closed ? .success(()) : nil
        }
        if self.inbound.read(.one(continuation), ended: ended) {
            self.grantWindowIfDue()
        }
    }

    private func grantWindowIfDue() {
        guard self.machine.request == .open, let connection = self.connection,
            let increment = self.inbound.windowUpdate()
        else { return }
        connection.dataConsumed(streamID: self.id, bytes: increment)
    }

    // MARK: Writing, for the handler

    /// Writes one enveloped response message; `tracked` messages report to the
    /// back-pressure.
    ///
    /// Messages are not written one DATA frame each: they gather (`OutboundMessages`) and
    /// go out as one frame when the connection flushes, or once enough wait.
    func send(_ envelope: ByteBuffer, tracked: Bool, compress: Bool = true) {
        guard let connection = self.connection else {
            if tracked { self.backpressure?.complete(envelope.readableBytes) }
            return
        }
        switch self.machine.sendMessage() {
        case .drop:
            if tracked { self.backpressure?.complete(envelope.readableBytes) }
            return
        case .writeHeadersThenMessage:
            self.responseEncoding = self.chooseResponseEncoding()
            if self.framing.format.wireProtocol == .connectUnary {
                self.holdUnaryResponse(envelope, tracked: tracked)
                return
            }
            connection.sendHeaders(streamID: self.id, self.responseHeaders())
        case .writeMessage:
            if self.framing.format.wireProtocol == .connectUnary {
                // A unary call has one response; the router never sends a second.
                if tracked { self.backpressure?.complete(envelope.readableBytes) }
                return
            }
        }
        var envelope = envelope
        // The back-pressure counts what the caller enveloped, compressed or not.
        let trackedLength = envelope.readableBytes
        if compress, self.responseEncoding != .identity {
            do {
                envelope = try EnvelopeWriter.compress(
                    envelope,
                    with: self.responseEncoding,
                    allocator: connection.allocator
                )
            } catch {
                if tracked { self.backpressure?.complete(trackedLength) }
                self.abort(status: Status(error))
                return
            }
        }
        self.record?.sent(envelopeBytes: envelope.readableBytes)
        let appended = self.outbound.append(envelope, trackedBytes: tracked ? trackedLength : 0)
        if appended.isFirst {
            connection.hasPendingData(self)
        }
        if appended.isFull {
            self.writePendingData()
        }
        connection.scheduleFlush()
    }

    /// Writes the gathered response messages as one DATA frame. Called by the connection
    /// before it flushes, and before anything else this stream writes.
    func writePendingData() {
        guard let (data, tracked) = self.outbound.take() else { return }
        guard let connection = self.connection else {
            if tracked > 0 { self.backpressure?.complete(tracked) }
            return
        }
        connection.sendData(
            streamID: self.id, self.framing.body(data, allocator: connection.allocator), trackedBytes: tracked,
            backpressure: self.backpressure)
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
        self.cancel(RPCError(status.code, status.message))
    }

    func deadlineExpired() {
        self.deadlineTimer = nil
        self.abort(
            status: Status(code: .deadlineExceeded, message: "the deadline of \(self.path) expired on the server"))
    }

    private func writeStatus(_ status: Status, trailers: Metadata) {
        guard let connection = self.connection else { return }
        self.writePendingData()
        let headers: HPACKHeaders
        let outcome = self.machine.sendStatus()
        if outcome != .none, self.framing.format.wireProtocol.statusInBody {
            self.writeStatusInBody(status, trailers: trailers, headersSent: outcome == .writeTrailers)
            return
        }
        switch outcome {
        case .none:
            return
        case .writeTrailersOnly:
            var block = self.responseHeaders()
            block.add(contentsOf: GRPCHeaders.trailers(status: status, metadata: trailers))
            headers = block
        case .writeTrailers:
            headers = GRPCHeaders.trailers(status: status, metadata: trailers)
        }
        self.record?.end(status: status, context: self.context)
        // With the request still open, RST_STREAM NO_ERROR tells the client to stop sending:
        // the call is over.
        connection.sendTrailers(streamID: self.id, headers, resetsOpenRequest: self.machine.request == .open)
        // The call is over for the connection too: later frames of this stream are not ours.
        self.connection = nil
    }

    /// The handler's choice, unless the client said it cannot read it.
    private func chooseResponseEncoding() -> CompressionAlgorithm {
        let chosen = self.context.responseCompression
        guard chosen != .identity, let acceptEncoding = self.acceptEncoding else { return chosen }
        return CompressionAlgorithm.parseAcceptEncoding(acceptEncoding).contains(chosen) ? chosen : .identity
    }

    func responseHeaders() -> HPACKHeaders {
        self.framing.head(encoding: self.responseEncoding, metadata: self.context.initialMetadata)
    }

    private func cancel(_ error: RPCError) {
        // A call cut short without a status of ours (the client reset it, the connection
        // closed) ends as the handler sees it: with this error's code, usually CANCELLED.
        self.record?.end(status: Status(code: error.code, message: error.message), context: self.context)
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

/// What a call's stream asks of its connection: the writing half of `ServerConnectionHandler`,
/// whichever transport it drives.
protocol ServerStreamConnection: AnyObject {
    var allocator: ByteBufferAllocator { get }
    /// A call's response headers.
    func sendHeaders(streamID: UInt32, _ headers: HPACKHeaders)
    /// Response messages; `trackedBytes` of them count in `backpressure` until written.
    func sendData(streamID: UInt32, _ data: ByteBuffer, trackedBytes: Int, backpressure: WriteBackpressure?)
    /// The end of a call.
    func sendTrailers(streamID: UInt32, _ trailers: HPACKHeaders, resetsOpenRequest: Bool)
    /// The call's handler read `bytes` of its request.
    func dataConsumed(streamID: UInt32, bytes: Int)
    /// `stream` gathered messages to write before the next flush.
    func hasPendingData(_ stream: ServerStream)
    /// Flushes at the end of the read burst or the event-loop tick.
    func scheduleFlush()
}
