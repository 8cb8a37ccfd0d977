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

    init(eventLoop: any EventLoop, authority: String, target: String, connectionWindowSize: Int) {
        self.eventLoop = eventLoop
        self.authority = authority
        self.target = target
        self.connectionFlow = InboundFlowController(targetWindow: connectionWindowSize, initialWindow: 65535)
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
        stream.start(id: id, on: self, authority: self.authority)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
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
        case .goAway(let lastStreamID, let errorCode, _):
            self.goAway(lastStreamID: lastStreamID, errorCode: errorCode)
        case .ping, .settings, .priority, .windowUpdate, .pushPromise, .alternativeService, .origin:
            break
        }
    }

    private func goAway(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        self.isDraining = true
        self.delegate?.connectionStoppedTakingCalls(self)
        for (id, stream) in self.streams where id > lastStreamID {
            self.streams[id] = nil
            self.retryOrFail(stream, RPCError(.unavailable, "the server at \(self.target) is going away (GOAWAY \(errorCode)) and did not process the call"))
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

    /// Why the connection is closing, when an error said so (a TLS alert from the server).
    private var closeReason: String?

    func channelInactive(context: ChannelHandlerContext) {
        self.isClosed = true
        let streams = Array(self.streams.values) + self.waitingForActivation
        self.streams = [:]
        self.waitingForActivation = []
        for stream in streams {
            stream.connectionClosed(RPCError(.unavailable, "the connection to \(self.target) was closed\(self.closeReason.map { ": \($0)" } ?? "")"))
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
