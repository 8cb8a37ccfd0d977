import NIOCore
import NIOHTTP2

/// Runs gRPC calls over one client HTTP/2 connection, on the connection channel.
///
/// Like the server side, it handles frames without a stream multiplexer: it assigns
/// stream IDs and routes frames to each call's `ClientStream`. `ConnectionStateMachine`
/// (shared with the server) decides the connection's life: keepalive, draining after
/// GOAWAY; this handler carries out its actions. `HTTP2FrameWriter` gathers writes and
/// coalesces flushes.
final class ClientConnectionHandler: ChannelDuplexHandler, HTTP2FrameWriter, ManagedConnection {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = Never
    typealias OutboundIn = Never
    typealias OutboundOut = HTTP2Frame

    /// Told when this connection stops taking new calls or closes (its subchannel).
    weak var delegate: (any ClientConnectionDelegate)?
    let eventLoop: any EventLoop
    private let authority: String
    /// `https` over TLS, `http` otherwise.
    private let scheme: String
    private let target: String
    private(set) var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: ClientStream] = [:]
    private var nextStreamID = 1
    private var connectionFlow: InboundFlowController
    var machine: ConnectionStateMachine
    var timers = ConnectionTimers()
    /// Calls handed over before the HTTP/2 preface was out.
    private var waitingForActivation: [ClientStream] = []
    /// Why the connection is closing, for the calls that fail because of it.
    private var closeReason: String?
    private var toldTooManyPings = false

    var flushes = FlushCoalescer()
    var streamsWithPendingData: [any GatheringStream] = []

    init(
        eventLoop: any EventLoop,
        authority: String,
        scheme: String = "http",
        target: String,
        connectionWindowSize: Int,
        keepalive: GRPCChannel.Keepalive? = nil
    ) {
        self.eventLoop = eventLoop
        self.authority = authority
        self.scheme = scheme
        self.target = target
        self.connectionFlow = InboundFlowController(targetWindow: connectionWindowSize, initialWindow: 65535)
        self.machine = ConnectionStateMachine(
            configuration: .init(
                peer: "server",
                keepalive: keepalive.map {
                    .init(
                        time: $0.time.timeAmount, timeout: $0.timeout.timeAmount,
                        permitWithoutCalls: $0.permitWithoutCalls)
                },
                controlFrameLimit: ControlFrameLimit()
            )
        )
    }

    /// Calls open on this connection.
    var activeCalls: Int { self.streams.count }

    /// A call wrote request headers or DATA to the channel: the server's next PING follows
    /// them (its bandwidth probe) and is not counted against the control-frame limit.
    func requestWritten() {
        self.machine.requestSent()
    }

    /// Whether new calls can start here.
    var isUsable: Bool { self.machine.acceptsCalls && self.nextStreamID < Int(Int32.max) - 2 }

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
        guard self.machine.state == .starting else { return }
        self.perform(self.machine.start())
        if let increment = self.connectionFlow.windowUpdate() {
            self.write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment)))
            self.scheduleFlush()
        }
        let waiting = self.waitingForActivation
        self.waitingForActivation = []
        for stream in waiting {
            self.open(stream)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timers.disarmAll()
        self.context = nil
    }

    /// Starts a call on this connection.
    func open(_ stream: ClientStream) {
        guard !stream.isFinished else { return }
        guard self.machine.state != .starting else {
            self.waitingForActivation.append(stream)
            return
        }
        let id = HTTP2StreamID(self.nextStreamID)
        self.nextStreamID += 2
        self.streams[id] = stream
        if let action = self.machine.streamOpened() {
            self.perform(action)
        }
        stream.start(id: id, on: self, authority: self.authority, scheme: self.scheme)
    }

    /// A call left the stream table.
    private func removed(_ id: HTTP2StreamID) -> ClientStream? {
        guard let stream = self.streams.removeValue(forKey: id) else { return nil }
        if let action = self.machine.streamClosed(now: .now()) {
            self.perform(action)
        }
        return stream
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.flushes.readStarted()
        let frame = self.unwrapInboundIn(data)
        _ = self.machine.frameReceived()
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
            // Retried before NIOHTTP2's StreamClosedEvent, which then finds nothing.
            if let stream = self.removed(frame.streamID) {
                self.retryOrFail(stream, self.refusedStreamError)
            }
        case .rstStream(let code):
            self.streams[frame.streamID]?.receiveReset(code)
        case .goAway(let lastStreamID, let errorCode, let debugData):
            self.goAwayReceived(lastStreamID: lastStreamID, errorCode: errorCode, debugData: debugData)
        case .ping(let data, ack: true):
            if let action = self.machine.pingAckReceived(data) { self.perform(action) }
            self.perform(self.machine.controlFrameReceived())
        case .ping:
            // NIOHTTP2 has acked it; its own control-frame limit is off (`SubchannelConnector`).
            self.perform(self.machine.pingReceived())
        case .settings, .priority, .alternativeService, .origin:
            self.perform(self.machine.controlFrameReceived())
        case .windowUpdate, .pushPromise:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.readBurstEnded()
        context.fireChannelReadComplete()
    }

    private func goAwayReceived(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode, debugData: ByteBuffer?) {
        var description = "GOAWAY \(errorCode)"
        if let debugData, debugData.readableBytes > 0 {
            // Printable ASCII only: the bytes are the peer's.
            let text = String(
                decoding: debugData.readableBytesView.prefix(128).filter { (0x20..<0x7F).contains($0) }, as: UTF8.self)
            description += " \"\(text)\""
        }
        if errorCode == .enhanceYourCalm,
            debugData.map({ $0.readableBytesView.elementsEqual("too_many_pings".utf8) }) == true
        {
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
        // Draining from now: new calls go to another connection.
        var close = self.machine.goAwayReceived()
        self.delegate?.connectionStoppedTakingCalls(self)
        // Streams the server will not process go elsewhere, or fail.
        for id in self.streams.keys where id > lastStreamID {
            guard let stream = self.streams.removeValue(forKey: id) else { continue }
            if let action = self.machine.streamClosed(now: .now()) { close = action }
            self.retryOrFail(
                stream,
                RPCError(
                    .unavailable,
                    "the server at \(self.target) is going away (\(description)) and did not process the call"))
        }
        if let close {
            self.perform(close)
        }
    }

    private var refusedStreamError: RPCError {
        RPCError(.unavailable, "the server at \(self.target) refused the stream before processing it")
    }

    /// A call the server did not process goes to a new connection when it can
    /// (gRPC's transparent retry); otherwise it fails with `error`.
    private func retryOrFail(_ stream: ClientStream, _ error: RPCError) {
        if let delegate = self.delegate, stream.prepareForRetry() {
            delegate.retry(stream)
        } else {
            stream.connectionClosed(error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A call that moved on to another attempt is no longer this stream's.
        if let closed = event as? StreamClosedEvent, let stream = self.removed(closed.streamID), !stream.isFinished,
            stream.isOn(self, id: closed.streamID)
        {
            if closed.reason == .refusedStream {
                self.retryOrFail(stream, self.refusedStreamError)
            } else if let reason = closed.reason {
                stream.receiveReset(reason)
            } else {
                stream.connectionClosed(RPCError(.internal, "the stream closed without a status"))
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.machine.closed()
        self.timers.disarmAll()
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
            self.streams[streamError.streamID]?.cancel(
                RPCError(.internal, "HTTP/2 stream error: \(streamError.baseError)"))
            return
        }
        if self.closeReason == nil {
            self.closeReason = TLSHandshakeError.describeServerAlert(error)
        }
        context.close(promise: nil)
    }

    // MARK: Writing and connection management

    /// One flush per read burst or event-loop tick, whatever the number of calls that
    /// wrote in it.
    func scheduleFlush() {
        self.requestFlush()
    }

    func willSendGoAway(why: String) {}

    func abortConnection(reason: String) {
        self.closeReason = reason
        self.delegate?.connectionStoppedTakingCalls(self)
        self.context?.close(promise: nil)
    }

    /// Takes no new calls, and closes once the calls it carries have ended.
    func drain() {
        if let action = self.machine.stopTakingCalls() {
            self.perform(action)
        }
    }

    /// Closes the connection; its calls fail with UNAVAILABLE.
    func close() {
        self.context?.close(promise: nil)
    }
}
