import GRPCSimpleHTTP2
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOSSL

/// Serves gRPC on one HTTP/2 connection: the bytes of the connection in, the bytes of its
/// responses out.
///
/// It drives the server's own HTTP/2 transport, `HTTP2ServerConnection` (frames, HPACK,
/// stream states, flow control, the limits on what a client may make us do), and routes
/// what it reports: it keeps the table of calls and hands each event to its `ServerStream`.
/// The other jobs are delegated: `RequestHead` checks a new call's headers,
/// `ServerCallExecutor` runs its handler, `ConnectionStateMachine` decides the connection's
/// life (keepalive, idle, age, draining) and this handler carries out its actions, and
/// `FlushCoalescer` makes every call writing in one read burst or event-loop tick share one
/// write and one flush.
final class ServerConnectionHandler<Transport: ServerTransport>: ChannelDuplexHandler, ManagedConnection,
    ServerStreamConnection, ServerConnectionControl
{
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Never
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer

    typealias Configuration = ServerConnectionConfiguration

    let configuration: Configuration
    let calls: ServerCallExecutor
    private(set) var context: ChannelHandlerContext?
    var transport: Transport
    var streams: [UInt32: ServerStream] = [:]
    var machine: ConnectionStateMachine
    var timers = ConnectionTimers()
    private(set) var peer = "unknown"
    let allocator: ByteBufferAllocator

    var flushes = FlushCoalescer()
    var streamsWithPendingData: [ServerStream] = []
    /// Response bytes counted by a call's back-pressure that are in the transport's output
    /// and not yet handed to the channel: they leave the back-pressure once that write is done.
    var trackedInOutput: [(WriteBackpressure, Int)] = []
    /// Counted response bytes that wait in the transport for the client's flow-control window.
    var trackedAwaitingWindow: [UInt32: (WriteBackpressure, Int)] = [:]
    /// Our SETTINGS went out.
    private var transportStarted = false
    /// A read held back while the channel was not writable (or the transport full).
    var readPending = false
    /// HTTP/1.1: armed while a request is partly in and nothing is being served.
    private var stalledRequestTimer: Scheduled<Void>?
    /// The state machine asked to close once everything is written, while a call that has
    /// ended for us still had response DATA waiting for the client's window: closing waits
    /// for it.
    var closeWhenStreamsEnd = false
    /// The channel closes once what was written is out.
    var closing = false

    /// With TLS: reads the verified client certificate (mutual TLS) off the TLS handler.
    /// Called once, at the first call, when the handshake is long done.
    var peerCertificateLookup: (() -> PeerCertificate?)?
    var peerCertificate: PeerCertificate?
    /// The connection's addresses for call spans; formatted at the first traced call.
    lazy var connectionAddresses = ServerObserver.ConnectionAddresses(
        local: self.context?.channel.localAddress, remote: self.context?.channel.remoteAddress)

    init(
        configuration: Configuration, transport: Transport, executor: EventLoopTaskExecutor,
        allocator: ByteBufferAllocator
    ) {
        self.configuration = configuration
        self.calls = ServerCallExecutor(executor: executor, logger: configuration.logger)
        self.machine = ConnectionStateMachine(configuration: configuration.connection)
        self.transport = transport
        self.allocator = allocator
    }

    var eventLoop: any EventLoop { self.calls.executor.eventLoop }
    var activeCalls: Int { self.streams.count }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.configuration.observer?.metrics?.openConnections.increment(by: 1)
        if let address = context.channel.remoteAddress {
            self.peer = NetworkDescription.address(address)
        }
        if context.channel.isActive {
            self.startTransport()
        }
        self.perform(self.machine.start())
    }

    func channelActive(context: ChannelHandlerContext) {
        self.startTransport()
        context.fireChannelActive()
    }

    /// Our SETTINGS and the connection's WINDOW_UPDATE go out first.
    private func startTransport() {
        guard !self.transportStarted else { return }
        self.transportStarted = true
        self.transport.start()
        self.requestFlush()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.configuration.observer?.metrics?.openConnections.decrement(by: 1)
        self.timers.disarmAll()
        self.stalledRequestTimer?.cancel()
        self.stalledRequestTimer = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.machine.closed()
        self.timers.disarmAll()
        let streams = self.streams
        self.streams = [:]
        for stream in streams.values {
            stream.reset(reason: "the client's connection closed")
            stream.closed()
        }
        self.releaseAllTrackedBytes()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            self.configuration.logger.debug(
                "TLS error, closing the connection", metadata: ["peer": "\(self.peer)", "error": "\(error)"])
        } else {
            self.configuration.logger.debug(
                "connection error", metadata: ["peer": "\(self.peer)", "error": "\(error)"])
        }
        context.close(promise: nil)
    }

    // MARK: Input

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.flushes.readStarted()
        self.transport.receive(self.unwrapInboundIn(data), now: .now())
        self.handleEvents()
        // Activity for keepalive; the end of the handshake once the whole preface is in (a
        // client that sends half of it and stalls is closed by the handshake timeout).
        if self.transport.handshakeComplete, let action = self.machine.frameReceived() {
            self.perform(action)
        }
    }

    /// Every event the input so far holds.
    func handleEvents() {
        while let event = self.transport.nextEvent() {
            self.handle(event)
        }
        if !Transport.multiplexes {
            self.watchForStalledRequest()
        }
    }

    /// HTTP/1.1: a client that starts a request and stops is closed after the handshake
    /// timeout, the first request or any later one.
    private func watchForStalledRequest() {
        if self.streams.isEmpty, self.transport.hasPartialRequest {
            guard self.stalledRequestTimer == nil else { return }
            let timeout = self.configuration.connection.handshakeTimeout ?? .seconds(10)
            let handler = NIOLoopBound(self, eventLoop: self.eventLoop)
            self.stalledRequestTimer = self.eventLoop.scheduleTask(in: timeout) {
                handler.value.abortConnection(reason: "the client sent part of a request and stopped")
            }
        } else if let timer = self.stalledRequestTimer {
            timer.cancel()
            self.stalledRequestTimer = nil
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.releaseTrackedBytesNoLongerWaiting()
        if self.flushes.readEnded() || self.transport.hasOutput {
            self.flush()
        }
        context.fireChannelReadComplete()
    }

    /// The client closed its side: the transport answers with GOAWAY, and the connection closes.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.transport.receiveEndOfInput()
            // HTTP/1.1 reports a request cut off mid-body as a reset: its call ends.
            self.handleEvents()
            self.flush()
            self.closeWhenWritten()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Holds reads back while the channel is not writable: a client that does not read our
    /// answers (PING and SETTINGS ACKs, RST_STREAMs, responses) cannot make us buffer them
    /// without bound.
    func read(context: ChannelHandlerContext) {
        if (context.channel.isWritable && self.transport.wantsMoreInput) || self.closing {
            context.read()
        } else {
            self.readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.resumeReadingIfHeld()
        context.fireChannelWritabilityChanged()
    }

    /// Reads again once the channel is writable and the transport takes input.
    func resumeReadingIfHeld() {
        guard self.readPending, let context = self.context, context.channel.isWritable, self.transport.wantsMoreInput
        else { return }
        self.readPending = false
        context.read()
    }

    private func handle(_ event: HTTP2ServerEvent) {
        switch event {
        case .requestHead(let streamID, _, let headers, let endStream):
            self.openStream(id: streamID, headers: headers, endStream: endStream)
        case .requestData(let streamID, _, let data, let endStream, let flowControlledLength):
            // The transport gave the connection window back already; the stream's comes back
            // as the call's handler reads (`dataConsumed`).
            guard let stream = self.streams[streamID] else { return }
            stream.receiveData(data, endStream: endStream, flowControlledLength: flowControlledLength)
            self.calls.startIfReady(stream)
        case .requestTrailers(let streamID, _, _):
            // gRPC clients send no trailers; if one does, they end its requests.
            guard let stream = self.streams[streamID] else { return }
            stream.receiveEnd()
            self.calls.startIfReady(stream)
        case .streamReset(let streamID, _, let errorCode):
            guard let stream = self.streams.removeValue(forKey: streamID) else { return }
            self.releaseTrackedBytes(awaitingWindowOn: streamID)
            stream.reset(reason: "the client cancelled the call (RST_STREAM \(errorCode))")
            stream.closed()
            if let action = self.machine.streamClosed(now: .now()) {
                self.perform(action)
            }
        case .pingReceived:
            // The transport counted it against its control-frame limit and acked it.
            self.perform(self.machine.pingReceived())
        case .pingAcknowledged(let opaque):
            if let action = self.machine.pingAckReceived(HTTP2PingData(withInteger: opaque)) {
                self.perform(action)
            }
        case .goAway:
            break
        case .connectionError(let error):
            // The transport's GOAWAY is in its output: write it, then close.
            self.configuration.logger.debug(
                "connection error, closing the connection", metadata: ["peer": "\(self.peer)", "error": "\(error)"])
            self.closeWhenWritten()
        }
    }

    // MARK: Connection management

    func sendKeepalivePing() {
        self.transport.sendPing(opaque: KeepaliveStateMachine.pingData.integer)
        self.requestFlush()
    }

    func sendGoAway(lastStreamID: HTTP2StreamID, errorCode: NIOHTTP2.HTTP2ErrorCode, debugData: String?) {
        let lastStreamID = UInt32(Int(lastStreamID))
        let debugData = debugData.map { ByteBuffer(string: $0) }
        if errorCode == .noError {
            self.transport.startDraining(lastStreamID: lastStreamID, debugData: debugData)
        } else {
            self.transport.abort(
                code: GRPCSimpleHTTP2.HTTP2ErrorCode(UInt32(errorCode.networkCode)), debugData: debugData)
        }
        self.flush()
    }

    /// Closes once everything written so far is on the wire, and once no stream still has
    /// output waiting for the client's flow-control window.
    func closeWhenWritten() {
        guard let context = self.context, !self.closing else { return }
        if !self.transport.isClosed, self.hasOutputAwaitingWindow {
            self.closeWhenStreamsEnd = true
            return
        }
        self.closing = true
        self.closeWhenStreamsEnd = false
        self.flush()
        // Writes complete in order: this empty one completes after everything before it.
        context.writeAndFlush(self.wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Whether a call that has ended for us is still open in the transport: its trailers
    /// wait behind DATA for the client's window (it was not reset, so nothing is lost).
    var hasOutputAwaitingWindow: Bool {
        self.transport.activeStreams > self.streams.count
    }

    func willSendGoAway(why: String) {
        self.configuration.logger.debug("sending GOAWAY", metadata: ["peer": "\(self.peer)", "why": "\(why)"])
    }

    func abortConnection(reason: String) {
        self.configuration.logger.debug(
            "closing the connection", metadata: ["peer": "\(self.peer)", "why": "\(reason)"])
        for stream in self.streams.values {
            stream.abort(status: Status(code: .unavailable, message: reason))
        }
        self.closing = true
        self.flush()
        self.context?.close(promise: nil)
    }

    /// Stops accepting calls (GOAWAY) and closes once the calls in flight are done.
    func startDraining() {
        guard self.context != nil else { return }
        self.perform(self.machine.startDraining())
    }

    /// Cancels every call still running and closes the connection.
    func forceClose(reason: String = "the server is shutting down") {
        if let action = self.machine.abort(reason: reason) {
            self.perform(action)
        }
    }
}

/// What every connection of a server shares: its router, limits and observers.
struct ServerConnectionConfiguration {
    var router: Router
    var maximumReceiveMessageSize: Int
    var streamWindowSize: Int
    var connection: ConnectionStateMachine.Configuration
    var logger: Logger
    /// Nil when observability is off.
    var observer: ServerObserver? = nil
    /// Which browser origins may call; nil for none.
    var cors: CORSPolicy? = nil
}
