import NIOCore
import NIOHTTP2

/// Runs gRPC calls over one client HTTP/2 connection, on the connection channel.
///
/// Like the server side, it handles frames without a stream multiplexer: it assigns
/// stream IDs, routes frames to each call's `ClientStream`, grants window, and flushes
/// once per event-loop tick.
final class ClientConnectionHandler: ChannelDuplexHandler, HTTP2FrameWriter {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = Never
    typealias OutboundIn = Never
    typealias OutboundOut = HTTP2Frame

    /// Told when this connection stops taking new calls or closes.
    weak var delegate: ConnectionManager?
    let eventLoop: any EventLoop
    private let authority: String
    /// `https` over TLS, `http` otherwise.
    private let scheme: String
    private let target: String
    private(set) var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: ClientStream] = [:]
    private var nextStreamID = 1
    private var connectionFlow: InboundFlowController
    var deferredFlushScheduled = false
    private(set) var isDraining = false
    private var isClosed = false
    private var isActive = false
    private var waitingForActivation: [ClientStream] = []
    var streamsWithPendingData: [any GatheringStream] = []

    private let keepaliveConfiguration: Channel.Keepalive?
    private var keepalive: KeepaliveStateMachine
    private var keepaliveTimer: Scheduled<Void>?
    /// Why the connection is closing, for the calls that fail because of it.
    private var closeReason: String?
    private var toldTooManyPings = false

    init(
        eventLoop: any EventLoop,
        authority: String,
        scheme: String = "http",
        target: String,
        connectionWindowSize: Int,
        keepalive: Channel.Keepalive? = nil
    ) {
        self.eventLoop = eventLoop
        self.authority = authority
        self.scheme = scheme
        self.target = target
        self.connectionFlow = InboundFlowController(targetWindow: connectionWindowSize, initialWindow: 65535)
        self.keepaliveConfiguration = keepalive
        self.keepalive = KeepaliveStateMachine(permitWithoutCalls: keepalive?.permitWithoutCalls ?? false)
    }

    /// Whether new calls can start here.
    var isUsable: Bool { !self.isDraining && !self.isClosed && self.nextStreamID < Int(Int32.max) - 2 }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            self.activate()
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.activate()
        context.fireChannelActive()
    }

    /// The HTTP/2 preface is out: the connection can carry calls. (A connect promise
    /// completes before `channelActive` travels the pipeline, so calls handed over
    /// earlier wait here.)
    private func activate() {
        guard !self.isActive else { return }
        self.isActive = true
        self.openConnectionWindow()
        self.resumeKeepalive()
        let waiting = self.waitingForActivation
        self.waitingForActivation = []
        for stream in waiting {
            self.open(stream)
        }
    }

    private func openConnectionWindow() {
        if let increment = self.connectionFlow.windowUpdate() {
            self.write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment)))
            self.scheduleFlush()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.keepaliveTimer?.cancel()
        self.keepaliveTimer = nil
        self.context = nil
    }

    /// Starts a call on this connection.
    func open(_ stream: ClientStream) {
        guard !stream.isFinished else { return }
        guard self.isActive else {
            self.waitingForActivation.append(stream)
            return
        }
        let id = HTTP2StreamID(self.nextStreamID)
        self.nextStreamID += 2
        self.streams[id] = stream
        stream.start(id: id, on: self, authority: self.authority, scheme: self.scheme)
        if self.keepaliveTimer == nil {
            self.resumeKeepalive()
        }
    }

    // MARK: Keepalive

    /// Starts the keepalive timer, if keepalive is on and the timer is not running.
    private func resumeKeepalive() {
        guard let configuration = self.keepaliveConfiguration, self.keepaliveTimer == nil, !self.isClosed else { return }
        self.scheduleKeepalive(in: configuration.time.timeAmount)
    }

    private func scheduleKeepalive(in delay: TimeAmount) {
        self.keepaliveTimer = self.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.keepaliveTimeElapsed()
        }
    }

    private func keepaliveTimeElapsed() {
        guard let configuration = self.keepaliveConfiguration else { return }
        switch self.keepalive.timeElapsed(hasActiveCalls: !self.streams.isEmpty) {
        case .pause:
            self.keepaliveTimer = nil
        case .waitAgain:
            self.scheduleKeepalive(in: configuration.time.timeAmount)
        case .sendPing:
            self.write(HTTP2Frame(streamID: .rootStream, payload: .ping(KeepaliveStateMachine.pingData, ack: false)))
            self.scheduleFlush()
            self.keepaliveTimer = self.eventLoop.assumeIsolated().scheduleTask(in: configuration.timeout.timeAmount) {
                self.keepaliveTimeoutElapsed()
            }
        }
    }

    private func keepaliveAckReceived() {
        guard let configuration = self.keepaliveConfiguration, self.keepalive.isAwaitingAck else { return }
        self.keepalive.ackReceived()
        self.keepaliveTimer?.cancel()
        self.scheduleKeepalive(in: configuration.time.timeAmount)
    }

    private func keepaliveTimeoutElapsed() {
        guard let configuration = self.keepaliveConfiguration else { return }
        if self.keepalive.timeoutElapsed() {
            self.keepaliveTimer = nil
            self.closeReason = "keepalive timed out: the server did not answer a PING within \(configuration.timeout)"
            self.isDraining = true
            self.delegate?.connectionStoppedTakingCalls(self)
            self.context?.close(promise: nil)
        } else {
            self.scheduleKeepalive(in: configuration.time.timeAmount)
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        self.keepalive.frameReceived()
        switch frame.payload {
        case .headers(let headers):
            self.streams[frame.streamID]?.receiveHeaders(headers.headers, endStream: headers.endStream)
        case .data(let payload):
            let length = payload.data.readableBytes + (payload.paddingBytes.map { $0 + 1 } ?? 0)
            self.connectionFlow.received(length)
            if let increment = self.connectionFlow.windowUpdate() {
                self.write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment)))
                self.scheduleFlush()
            }
            if let stream = self.streams[frame.streamID], case .byteBuffer(let buffer) = payload.data {
                stream.receiveData(buffer, endStream: payload.endStream, flowControlledLength: length)
            }
        case .rstStream(.refusedStream):
            if let stream = self.streams.removeValue(forKey: frame.streamID) {
                self.retryOrFail(stream, self.refusedStreamError)
            }
        case .rstStream(let code):
            self.streams[frame.streamID]?.receiveReset(code)
        case .goAway(let lastStreamID, let errorCode, let debugData):
            self.goAway(lastStreamID: lastStreamID, errorCode: errorCode, debugData: debugData)
        case .ping(let data, ack: true) where data == KeepaliveStateMachine.pingData:
            self.keepaliveAckReceived()
        case .ping, .settings, .priority, .windowUpdate, .pushPromise, .alternativeService, .origin:
            break
        }
    }

    private func goAway(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode, debugData: ByteBuffer?) {
        self.isDraining = true
        var description = "GOAWAY \(errorCode)"
        if let debugData, debugData.readableBytes > 0 {
            // Printable ASCII only: the bytes are the peer's.
            let text = String(decoding: debugData.readableBytesView.prefix(128).filter { (0x20..<0x7F).contains($0) }, as: UTF8.self)
            description += " \"\(text)\""
        }
        if errorCode == .enhanceYourCalm, debugData.map({ $0.readableBytesView.elementsEqual("too_many_pings".utf8) }) == true {
            description += ": this client sent keepalive PINGs more often than the server allows"
            if !self.toldTooManyPings {
                // Once per connection, however many GOAWAYs the server sends.
                self.toldTooManyPings = true
                self.delegate?.serverRejectedTooManyPings()
            }
        }
        if errorCode != .noError {
            self.closeReason = "the server sent \(description)"
        }
        self.delegate?.connectionStoppedTakingCalls(self)
        for (id, stream) in self.streams where id > lastStreamID {
            self.streams[id] = nil
            self.retryOrFail(stream, RPCError(.unavailable, "the server at \(self.target) is going away (\(description)) and did not process the call"))
        }
        if self.streams.isEmpty {
            self.context?.close(promise: nil)
        }
    }

    private var refusedStreamError: RPCError {
        RPCError(.unavailable, "the server at \(self.target) refused the stream before processing it")
    }

    /// A call the server did not process goes to a new connection when it can
    /// (gRPC's transparent retry); otherwise it fails with `error`.
    private func retryOrFail(_ stream: ClientStream, _ error: RPCError) {
        if let delegate = self.delegate, stream.prepareForRetry() {
            delegate.open(stream, waitForReady: stream.options.waitForReady)
        } else {
            stream.connectionClosed(error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent, let stream = self.streams.removeValue(forKey: closed.streamID) {
            if !stream.isFinished {
                if closed.reason == .refusedStream {
                    self.retryOrFail(stream, self.refusedStreamError)
                } else if let reason = closed.reason {
                    stream.receiveReset(reason)
                } else {
                    stream.connectionClosed(RPCError(.internal, "the stream closed without a status"))
                }
            }
            if self.isDraining && self.streams.isEmpty {
                context.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isClosed = true
        self.keepaliveTimer?.cancel()
        self.keepaliveTimer = nil
        let streams = Array(self.streams.values) + self.waitingForActivation
        self.streams = [:]
        self.waitingForActivation = []
        let message = "the connection to \(self.target) was closed" + (self.closeReason.map { ": \($0)" } ?? "")
        for stream in streams {
            stream.connectionClosed(RPCError(.unavailable, message))
        }
        self.delegate?.connectionStoppedTakingCalls(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            self.streams[streamError.streamID]?.cancel(RPCError(.internal, "HTTP/2 stream error: \(streamError.baseError)"))
            return
        }
        if self.closeReason == nil {
            self.closeReason = TLSHandshakeError.describeServerAlert(error)
        }
        context.close(promise: nil)
    }

    // MARK: Writing

    /// One flush per event-loop tick, whatever the number of calls that wrote in it.
    func scheduleFlush() {
        self.scheduleDeferredFlush()
    }


    func close() {
        self.context?.close(promise: nil)
    }
}
