import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOSSL

/// Serves gRPC on one HTTP/2 connection, handling frames on the connection channel.
///
/// It sits right after `NIOHTTP2Handler`, without a stream multiplexer: one child
/// channel per call would cost allocations and hops that a gRPC call does not need. Its
/// one job is routing: it keeps the table of calls and hands each frame to its
/// `ServerStream`. The other jobs are delegated: `RequestHead` checks a new call's
/// headers, `ServerCallExecutor` runs its handler, `ConnectionStateMachine` decides the
/// connection's life (keepalive, idle, age, draining) and this handler carries out its
/// actions, and `HTTP2FrameWriter` gathers writes and coalesces flushes.
final class ServerConnectionHandler: ChannelDuplexHandler, ManagedConnection {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = Never
    typealias OutboundIn = Never
    typealias OutboundOut = HTTP2Frame

    struct Configuration {
        var router: Router
        var maximumReceiveMessageSize: Int
        var streamWindowSize: Int
        var connectionWindowSize: Int
        var connection: ConnectionStateMachine.Configuration
        var logger: Logger
        /// Nil when observability is off.
        var observer: ServerObserver? = nil
    }

    private let configuration: Configuration
    private let calls: ServerCallExecutor
    private(set) var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: ServerStream] = [:]
    private var connectionFlow: InboundFlowController
    var machine: ConnectionStateMachine
    var timers = ConnectionTimers()
    private var peer = "unknown"

    var flushes = FlushCoalescer()
    var streamsWithPendingData: [any GatheringStream] = []

    /// With TLS: reads the verified client certificate (mutual TLS) off the TLS handler.
    /// Called once, at the first call, when the handshake is long done.
    var peerCertificateLookup: (() -> PeerCertificate?)?
    private var peerCertificate: PeerCertificate?
    /// The connection's addresses for call spans; formatted at the first traced call.
    private lazy var connectionAddresses = ServerObserver.ConnectionAddresses(
        local: self.context?.channel.localAddress, remote: self.context?.channel.remoteAddress)

    init(configuration: Configuration, executor: EventLoopTaskExecutor) {
        self.configuration = configuration
        self.calls = ServerCallExecutor(executor: executor, logger: configuration.logger)
        self.machine = ConnectionStateMachine(configuration: configuration.connection)
        self.connectionFlow = InboundFlowController(
            targetWindow: configuration.connectionWindowSize,
            initialWindow: 65535
        )
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
            self.openConnectionWindow()
        }
        self.perform(self.machine.start())
    }

    func channelActive(context: ChannelHandlerContext) {
        self.openConnectionWindow()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.configuration.observer?.metrics?.openConnections.decrement(by: 1)
        self.timers.disarmAll()
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
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            self.configuration.logger.debug(
                "stream error",
                metadata: [
                    "peer": "\(self.peer)", "stream": "\(streamError.streamID)", "error": "\(streamError.baseError)",
                ]
            )
            return
        }
        if error is NIOSSLError || error is BoringSSLError {
            self.configuration.logger.debug(
                "TLS error, closing the connection", metadata: ["peer": "\(self.peer)", "error": "\(error)"])
        } else {
            self.configuration.logger.debug(
                "connection error", metadata: ["peer": "\(self.peer)", "error": "\(error)"])
        }
        context.close(promise: nil)
    }

    private func openConnectionWindow() {
        if let increment = self.connectionFlow.windowUpdate() {
            self.write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment)))
            self.scheduleFlush()
        }
    }

    // MARK: Inbound frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.flushes.readStarted()
        if let action = self.machine.frameReceived() {
            self.perform(action)
        }
        let frame = self.unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            if let stream = self.streams[frame.streamID] {
                // gRPC clients send no trailers; END_STREAM on a HEADERS frame ends the requests.
                if headers.endStream {
                    stream.receiveEnd()
                    self.calls.startIfReady(stream)
                }
            } else {
                self.openStream(id: frame.streamID, headers: headers.headers, endStream: headers.endStream)
            }
        case .data(let payload):
            let length = payload.data.readableBytes + (payload.paddingBytes.map { $0 + 1 } ?? 0)
            self.connectionFlow.received(length)
            if let increment = self.connectionFlow.windowUpdate() {
                self.write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment)))
            }
            if let stream = self.streams[frame.streamID], case .byteBuffer(let buffer) = payload.data {
                stream.receiveData(buffer, endStream: payload.endStream, flowControlledLength: length)
                self.calls.startIfReady(stream)
            }
        case .rstStream(let code):
            self.streams[frame.streamID]?.reset(reason: "the client cancelled the call (RST_STREAM \(code))")
        case .ping(let data, let ack):
            // NIOHTTP2 has acked a PING; the ping policy and our control-frame limit judge
            // it (NIOHTTP2's own limit is off: see `Server.configure`).
            if ack {
                if let action = self.machine.pingAckReceived(data) { self.perform(action) }
                self.perform(self.machine.controlFrameReceived())
            } else {
                self.perform(self.machine.pingReceived())
            }
        case .settings, .priority, .alternativeService, .origin:
            self.perform(self.machine.controlFrameReceived())
        case .goAway, .windowUpdate, .pushPromise:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.readBurstEnded()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // NIOHTTP2 sends several events per stream; comparing the type first is cheaper
        // than a failing dynamic cast for each of the ones we don't use.
        if type(of: event) == StreamClosedEvent.self, let closed = event as? StreamClosedEvent,
            let stream = self.streams.removeValue(forKey: closed.streamID)
        {
            if let reason = closed.reason {
                stream.reset(reason: "the client cancelled the call (\(reason))")
            }
            stream.closed()
            if let action = self.machine.streamClosed(now: .now()) {
                self.perform(action)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func openStream(id: HTTP2StreamID, headers: HPACKHeaders, endStream: Bool) {
        self.machine.peerOpenedStream(id)
        switch RequestHead.parse(headers, router: self.configuration.router) {
        case .failure(let rejection):
            self.write(
                HTTP2Frame(streamID: id, payload: .headers(.init(headers: rejection.responseHeaders, endStream: true))))
            if !endStream {
                self.write(HTTP2Frame(streamID: id, payload: .rstStream(.noError)))
            }
            self.responseWritten()
            self.scheduleFlush()
            self.configuration.observer?.callRejected(
                path: headers.first(name: ":path") ?? "", status: rejection.status, peer: self.peer,
                metadata: headers.first(name: "traceparent"))
            self.configuration.logger.debug(
                "rejected call",
                metadata: [
                    "peer": "\(self.peer)", "path": "\(headers.first(name: ":path") ?? "")",
                    "status": "\(rejection.status.code)",
                ]
            )
        case .success(let head):
            self.startCall(id: id, head: head, endStream: endStream)
        }
    }

    private func startCall(id: HTTP2StreamID, head: RequestHead, endStream: Bool) {
        let deadline = head.timeoutNanoseconds.map { ContinuousClock.now.advanced(by: .nanoseconds($0)) }
        if let lookup = self.peerCertificateLookup {
            self.peerCertificateLookup = nil
            self.peerCertificate = lookup()
        }
        let context = ServerContext(
            method: head.handler.method,
            metadata: head.metadata,
            deadline: deadline,
            peer: self.peer,
            requestCompression: head.encoding,
            peerCertificate: self.peerCertificate,
            logger: self.configuration.logger
        )
        let stream = ServerStream(
            id: id,
            path: head.path,
            kind: head.handler.kind,
            context: context,
            connection: self,
            maximumMessageSize: self.configuration.maximumReceiveMessageSize,
            windowSize: self.configuration.streamWindowSize,
            requestEncoding: head.encoding,
            acceptEncoding: head.acceptEncoding
        )
        if let observer = self.configuration.observer {
            stream.record = observer.callStarted(
                context: context, metadata: head.metadata, methodMetrics: head.handler.metrics,
                addresses: self.connectionAddresses)
        }
        self.streams[id] = stream
        if let action = self.machine.streamOpened() {
            self.perform(action)
        }
        if endStream { stream.receiveEnd() }

        let loop = self.eventLoop
        if let timeout = head.timeoutNanoseconds {
            let boundStream = NIOLoopBound(stream, eventLoop: loop)
            stream.deadlineTimer = loop.scheduleTask(in: .nanoseconds(timeout)) {
                boundStream.value.deadlineExpired()
            }
        }
        let call = ServerCall(
            stream: NIOLoopBound(stream, eventLoop: loop),
            eventLoop: loop,
            allocator: self.context?.channel.allocator ?? ByteBufferAllocator(),
            backpressure: stream.backpressure,
            path: head.path,
            executor: self.calls.executor
        )
        self.calls.start(head.handler, call: call, for: stream)
    }

    // MARK: Writing

    /// Flushes at the end of the current read burst, or at the end of this event-loop
    /// tick: many calls finishing together share one flush.
    func scheduleFlush() {
        self.requestFlush()
    }

    /// A stream wrote response headers or DATA to the channel: the ping policy forgives the
    /// client's strikes. Called at the write, not when a message is gathered for the next
    /// flush: a PING read while a response waits in the gather buffer is acked before that
    /// response goes out, so a client that pings each time DATA arrives (grpc-go's and
    /// C-core's bandwidth probe) would otherwise collect a strike for every PING it sends
    /// after such a response, and get GOAWAY "too_many_pings" for probing politely.
    func responseWritten() {
        self.machine.responseSent()
    }

    // MARK: Connection management

    func willSendGoAway(why: String) {
        self.configuration.logger.debug("sending GOAWAY", metadata: ["peer": "\(self.peer)", "why": "\(why)"])
    }

    func abortConnection(reason: String) {
        self.configuration.logger.debug(
            "closing the connection", metadata: ["peer": "\(self.peer)", "why": "\(reason)"])
        for stream in self.streams.values {
            stream.abort(status: Status(code: .unavailable, message: reason))
        }
        self.context?.flush()
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
