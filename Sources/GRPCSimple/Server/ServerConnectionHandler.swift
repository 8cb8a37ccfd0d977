import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOSSL

/// Serves gRPC on one HTTP/2 connection, handling frames on the connection channel.
///
/// It sits right after `NIOHTTP2Handler`, without a stream multiplexer: one child
/// channel per call would cost allocations and hops that a gRPC call does not need. So
/// this handler keeps the table of calls, routes each frame to its `ServerStream`,
/// grants flow-control window, and flushes once per read burst or event-loop tick.
final class ServerConnectionHandler: ChannelDuplexHandler, HTTP2FrameWriter {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = Never
    typealias OutboundIn = Never
    typealias OutboundOut = HTTP2Frame

    struct Configuration {
        var router: Router
        var maximumReceiveMessageSize: Int
        var streamWindowSize: Int
        var connectionWindowSize: Int
        var handshakeTimeout: Duration
        var pingPolicy: ServerPingPolicy
        var maximumConnectionIdle: Duration?
        var maximumConnectionAge: Duration?
        var maximumConnectionAgeGrace: Duration?
        var keepaliveTime: Duration
        var keepaliveTimeout: Duration
        var logger: Logger
    }

    private let configuration: Configuration
    private let executor: EventLoopTaskExecutor
    private(set) var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: ServerStream] = [:]
    private var connectionFlow: InboundFlowController
    private var peer = "unknown"
    private var lastStreamID = HTTP2StreamID.rootStream

    var streamsWithPendingData: [any GatheringStream] = []

    /// With TLS: reads the verified client certificate (mutual TLS) off the TLS handler.
    /// Called once, at the first call, when the handshake is long done.
    var peerCertificateLookup: (() -> PeerCertificate?)?
    private var peerCertificate: PeerCertificate?

    /// Closes a connection that has not sent its first frame in time.
    private var handshakeTimer: Scheduled<Void>?

    private var isReading = false
    private var flushAfterRead = false
    var deferredFlushScheduled = false
    private var isDraining = false
    /// A GOAWAY with an error went out; the connection closes as soon as it is written.
    private var isClosing = false

    /// Judges the client's PINGs.
    private var pingPolicy: ServerPingPolicy
    /// Our own PINGs to a client that went silent.
    private var keepalive = KeepaliveStateMachine(permitWithoutCalls: true)
    private var keepaliveTimer: Scheduled<Void>?
    /// When the last call ended (or the connection opened); used with `maximumConnectionIdle`.
    private var idleSince = NIODeadline.now()
    private var idleTimer: Scheduled<Void>?
    /// Fires at `maximumConnectionAge`, then again at the end of its grace period.
    private var ageTimer: Scheduled<Void>?

    init(configuration: Configuration, executor: EventLoopTaskExecutor) {
        self.configuration = configuration
        self.executor = executor
        self.pingPolicy = configuration.pingPolicy
        self.connectionFlow = InboundFlowController(
            targetWindow: configuration.connectionWindowSize,
            initialWindow: 65535
        )
    }

    var eventLoop: any EventLoop { self.executor.eventLoop }
    var activeCalls: Int { self.streams.count }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let timeout = self.configuration.handshakeTimeout
        self.handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout.timeAmount) {
            self.configuration.logger.debug(
                "closing a connection that sent nothing",
                metadata: ["peer": "\(self.peer)", "timeout": "\(timeout)"]
            )
            self.context?.close(promise: nil)
        }
        if let address = context.channel.remoteAddress {
            self.peer = Self.describe(address)
        }
        if context.channel.isActive {
            self.openConnectionWindow()
        }
        self.startLifetimeTimers()
    }

    func channelActive(context: ChannelHandlerContext) {
        self.openConnectionWindow()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.handshakeTimer?.cancel()
        self.handshakeTimer = nil
        self.keepaliveTimer?.cancel()
        self.keepaliveTimer = nil
        self.idleTimer?.cancel()
        self.idleTimer = nil
        self.ageTimer?.cancel()
        self.ageTimer = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
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
                metadata: ["peer": "\(self.peer)", "stream": "\(streamError.streamID)", "error": "\(streamError.baseError)"]
            )
            return
        }
        if error is NIOSSLError || error is BoringSSLError {
            self.configuration.logger.debug("TLS error, closing the connection", metadata: ["peer": "\(self.peer)", "error": "\(error)"])
        } else {
            self.configuration.logger.debug("connection error", metadata: ["peer": "\(self.peer)", "error": "\(error)"])
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
        if let timer = self.handshakeTimer {
            // The preface and a first frame arrived: the handshake is done.
            timer.cancel()
            self.handshakeTimer = nil
        }
        self.isReading = true
        self.keepalive.frameReceived()
        let frame = self.unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            if let stream = self.streams[frame.streamID] {
                // gRPC clients send no trailers; END_STREAM on a HEADERS frame ends the requests.
                if headers.endStream {
                    stream.receiveEnd()
                    self.startIfReady(stream)
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
                self.startIfReady(stream)
            }
        case .rstStream(let code):
            self.streams[frame.streamID]?.reset(reason: "the client cancelled the call (RST_STREAM \(code))")
        case .ping(let data, let ack):
            if !ack {
                self.pingReceived(context: context)
            } else if data == KeepaliveStateMachine.pingData {
                self.keepaliveAckReceived()
            }
        case .goAway, .settings, .priority, .windowUpdate, .pushPromise, .alternativeService, .origin:
            break
        }
    }

    /// A PING from the client (NIOHTTP2 has already acked it): within the ping policy,
    /// or GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and close.
    private func pingReceived(context: ChannelHandlerContext) {
        switch self.pingPolicy.pingReceived(at: .now(), hasActiveCalls: !self.streams.isEmpty) {
        case .allow, .strike:
            break
        case .tooManyPings:
            guard !self.isClosing else { return }
            self.isClosing = true
            self.configuration.logger.debug("closing a connection that pings too often", metadata: ["peer": "\(self.peer)"])
            let goAway = HTTP2Frame(
                streamID: .rootStream,
                payload: .goAway(lastStreamID: self.lastStreamID, errorCode: .enhanceYourCalm, opaqueData: ByteBuffer(string: "too_many_pings"))
            )
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(self.wrapOutboundOut(goAway), promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.isReading = false
        if self.flushAfterRead {
            self.flushAfterRead = false
            self.writePendingData()
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // NIOHTTP2 sends several events per stream; comparing the type first is cheaper
        // than a failing dynamic cast for each of the ones we don't use.
        if type(of: event) == StreamClosedEvent.self, let closed = event as? StreamClosedEvent {
            if let stream = self.streams.removeValue(forKey: closed.streamID) {
                if closed.reason != nil {
                    stream.reset(reason: "the client cancelled the call (\(closed.reason!))")
                }
                stream.closed()
                if self.streams.isEmpty && self.configuration.maximumConnectionIdle != nil {
                    self.idleSince = .now()
                }
            }
            if self.isDraining && self.streams.isEmpty {
                self.closeAfterFlushing(context)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func openStream(id: HTTP2StreamID, headers: HPACKHeaders, endStream: Bool) {
        if id > self.lastStreamID { self.lastStreamID = id }
        switch RequestHead.parse(headers, router: self.configuration.router) {
        case .failure(let rejection):
            var block: HPACKHeaders = [":status": String(rejection.httpStatus), "content-type": GRPCHeaders.contentType]
            block.add(contentsOf: GRPCHeaders.trailers(status: rejection.status, metadata: [:]))
            if let accept = rejection.acceptEncoding {
                block.add(name: "grpc-accept-encoding", value: accept)
            }
            self.write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: block, endStream: true))))
            if !endStream {
                self.write(HTTP2Frame(streamID: id, payload: .rstStream(.noError)))
            }
            self.scheduleFlush()
            self.configuration.logger.debug(
                "rejected call",
                metadata: ["peer": "\(self.peer)", "path": "\(headers.first(name: ":path") ?? "")", "status": "\(rejection.status.code)"]
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
            path: head.path,
            metadata: head.metadata,
            deadline: deadline,
            peer: self.peer,
            requestCompression: head.encoding,
            peerCertificate: self.peerCertificate
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
        self.streams[id] = stream
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
            executor: self.executor
        )
        if head.handler.kind.streamsRequests {
            self.spawn(head.handler, call: call, for: stream)
        } else {
            stream.pendingStart = ServerStream.PendingStart(handler: head.handler, call: call)
            self.startIfReady(stream)
        }
    }

    private func startIfReady(_ stream: ServerStream) {
        guard stream.pendingStart != nil, let start = stream.takeStartIfReady() else { return }
        self.spawn(start.handler, call: start.call, for: stream)
    }

    private func spawn(_ handler: MethodHandler, call: ServerCall, for stream: ServerStream) {
        let task = Self.startTask(handler, call: call, context: stream.context, logger: self.configuration.logger, on: self.executor)
        if !stream.handlerFinished {
            stream.task = task
        }
    }

    /// Starts the handler's task. It starts right here, on the event loop, and runs until
    /// it first suspends: a unary handler whose request is complete usually finishes
    /// before this returns. After a suspension it resumes on the loop's executor.
    private static func startTask(
        _ handler: MethodHandler,
        call: ServerCall,
        context: ServerContext,
        logger: Logger,
        on executor: EventLoopTaskExecutor
    ) -> Task<Void, Never> {
        #if compiler(>=6.2)
        if #available(macOS 26, iOS 26, tvOS 26, watchOS 26, visionOS 26, *) {
            return Task.immediate(executorPreference: executor) {
                await run(handler, call: call, context: context, logger: logger)
            }
        }
        #endif
        return Task(executorPreference: executor) {
            await run(handler, call: call, context: context, logger: logger)
        }
    }

    private static func run(_ handler: MethodHandler, call: ServerCall, context: ServerContext, logger: Logger) async {
        let status: Status
        var trailers = context.trailingMetadata
        do {
            try await handler.run(call, context)
            status = .ok
            trailers = context.trailingMetadata
        } catch let error as RPCError {
            status = Status(error)
            trailers = context.trailingMetadata
            trailers.merge(error.trailingMetadata)
        } catch is CancellationError {
            status = Status(code: .cancelled, message: "the call was cancelled")
        } catch {
            // Not a status the handler chose: report UNKNOWN without the error's details,
            // which may hold internals; the server's log has them.
            logger.error("handler failed", metadata: ["path": "\(context.path)", "error": "\(error)"])
            status = Status(code: .unknown, message: "the handler of \(context.path) failed")
        }
        call.finish(status: status, trailers: trailers)
    }

    // MARK: Writing

    /// Flushes at the end of the current read burst, or at the end of this event-loop
    /// tick: many calls finishing together share one flush.
    func scheduleFlush() {
        // Streams schedule a flush after writing headers or data. (The other writes that
        // do, the first WINDOW_UPDATE and our own keepalive PINGs, are rare: clearing a
        // client's ping strikes for them too forgives at most one PING per keepalive time.)
        self.pingPolicy.responseSent()
        if self.isReading {
            self.flushAfterRead = true
        } else {
            self.scheduleDeferredFlush()
        }
    }

    // MARK: Keepalive and connection lifetime

    private func startLifetimeTimers() {
        self.scheduleKeepalive(in: self.configuration.keepaliveTime.timeAmount)
        if let idle = self.configuration.maximumConnectionIdle {
            self.idleSince = .now()
            self.scheduleIdleCheck(in: idle.timeAmount)
        }
        if let age = self.configuration.maximumConnectionAge {
            // ±10 % jitter, as grpc-go does, so connections made together do not all
            // reconnect together.
            // Bounded below Int64.max: a huge age (meaning "never") must not overflow.
            let nanoseconds = min(Double(age.clampedNanoseconds) * Double.random(in: 0.9...1.1), Double(Int64.max / 2))
            self.ageTimer = self.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(nanoseconds))) {
                self.maximumAgeReached()
            }
        }
    }

    private func scheduleKeepalive(in delay: TimeAmount) {
        self.keepaliveTimer = self.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.keepaliveTimeElapsed()
        }
    }

    private func keepaliveTimeElapsed() {
        switch self.keepalive.timeElapsed(hasActiveCalls: !self.streams.isEmpty) {
        case .pause:
            self.keepaliveTimer = nil
        case .waitAgain:
            self.scheduleKeepalive(in: self.configuration.keepaliveTime.timeAmount)
        case .sendPing:
            self.write(HTTP2Frame(streamID: .rootStream, payload: .ping(KeepaliveStateMachine.pingData, ack: false)))
            self.scheduleFlush()
            self.keepaliveTimer = self.eventLoop.assumeIsolated().scheduleTask(in: self.configuration.keepaliveTimeout.timeAmount) {
                self.keepaliveTimeoutElapsed()
            }
        }
    }

    private func keepaliveAckReceived() {
        guard self.keepalive.isAwaitingAck else { return }
        self.keepalive.ackReceived()
        self.keepaliveTimer?.cancel()
        self.scheduleKeepalive(in: self.configuration.keepaliveTime.timeAmount)
    }

    private func keepaliveTimeoutElapsed() {
        if self.keepalive.timeoutElapsed() {
            self.configuration.logger.debug(
                "closing a connection whose client did not answer a keepalive ping",
                metadata: ["peer": "\(self.peer)", "timeout": "\(self.configuration.keepaliveTimeout)"]
            )
            self.forceClose(reason: "the client did not answer a keepalive ping within \(self.configuration.keepaliveTimeout)")
        } else {
            self.scheduleKeepalive(in: self.configuration.keepaliveTime.timeAmount)
        }
    }

    private func scheduleIdleCheck(in delay: TimeAmount) {
        self.idleTimer = self.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.checkIdle()
        }
    }

    /// Closes the connection if it has had no call for `maximumConnectionIdle`.
    private func checkIdle() {
        guard let limit = self.configuration.maximumConnectionIdle?.timeAmount else { return }
        guard self.streams.isEmpty else {
            return self.scheduleIdleCheck(in: limit)
        }
        let idleFor = NIODeadline.now() - self.idleSince
        if idleFor >= limit {
            self.idleTimer = nil
            self.configuration.logger.debug("closing an idle connection", metadata: ["peer": "\(self.peer)"])
            self.startDraining()
        } else {
            self.scheduleIdleCheck(in: limit - idleFor)
        }
    }

    /// `maximumConnectionAge` passed: GOAWAY, and a deadline for the calls in flight.
    private func maximumAgeReached() {
        self.configuration.logger.debug("closing a connection at its maximum age", metadata: ["peer": "\(self.peer)"])
        self.startDraining()
        if let grace = self.configuration.maximumConnectionAgeGrace, self.context != nil {
            self.ageTimer = self.eventLoop.assumeIsolated().scheduleTask(in: grace.timeAmount) {
                self.ageTimer = nil
                self.forceClose(reason: "the connection reached its maximum age and its calls did not finish within the grace period")
            }
        } else {
            self.ageTimer = nil
        }
    }

    // MARK: Shutdown

    /// Stops accepting calls (GOAWAY) and closes once the calls in flight are done.
    func startDraining() {
        guard !self.isDraining, !self.isClosing, let context = self.context else { return }
        self.isDraining = true
        self.write(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: self.lastStreamID, errorCode: .noError, opaqueData: nil)))
        self.writePendingData()
        context.flush()
        if self.streams.isEmpty {
            self.closeAfterFlushing(context)
        }
    }

    /// Closes once everything written so far is on the wire: the last call's trailers
    /// are written in the same tick as its stream closes, before the deferred flush.
    private func closeAfterFlushing(_ context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(self.wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(), ack: false))), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Cancels every call still running and closes the connection.
    func forceClose(reason: String = "the server is shutting down") {
        for stream in self.streams.values {
            stream.abort(status: Status(code: .unavailable, message: reason))
        }
        self.context?.flush()
        self.context?.close(promise: nil)
    }

    static func describe(_ address: SocketAddress) -> String {
        switch address {
        case .v4(let v4): "ipv4:\(v4.host):\(address.port ?? 0)"
        case .v6(let v6): "ipv6:[\(v6.host)]:\(address.port ?? 0)"
        case .unixDomainSocket: "unix:\(address.pathname ?? "")"
        }
    }
}

/// The parts of a request's headers a call needs, checked.
struct RequestHead {
    var path: String
    var handler: MethodHandler
    var metadata: Metadata
    var timeoutNanoseconds: Int64?
    /// How the client compresses the messages it flags as compressed.
    var encoding: CompressionAlgorithm
    /// What the client said it can read (`grpc-accept-encoding`), unparsed: only a call
    /// whose handler compresses needs it. Nil when the client said nothing.
    var acceptEncoding: String?

    /// Why a request is answered without reaching a handler.
    struct Rejection: Error {
        var httpStatus: Int = 200
        var status: Status
        var acceptEncoding: String?
    }

    /// Reads the request headers in one pass (they are few, and each lookup by name
    /// would be a scan of its own), then checks them in the order the spec's errors need.
    static func parse(_ headers: HPACKHeaders, router: Router) -> Result<RequestHead, Rejection> {
        // Names are lowercase on the wire: NIOHTTP2 rejects header blocks with uppercase names.
        var method: String?
        var pathValue: String?
        var contentType: String?
        var encoding: String?
        var timeoutValue: String?
        var acceptEncoding: String?
        var metadata = Metadata()
        var metadataError: RPCError?
        for (name, value, _) in headers {
            // By length first: most names are told apart without comparing strings.
            switch name.utf8.count {
            case 5 where name == ":path": if pathValue == nil { pathValue = value }
            case 7 where name == ":method": if method == nil { method = value }
            case 12 where name == "content-type": if contentType == nil { contentType = value }
            case 12 where name == "grpc-timeout": if timeoutValue == nil { timeoutValue = value }
            case 13 where name == "grpc-encoding": if encoding == nil { encoding = value }
            case 20 where name == "grpc-accept-encoding": acceptEncoding = acceptEncoding.map { $0 + "," + value } ?? value
            default:
                if metadataError == nil, !Metadata.isReserved(name) {
                    metadataError = GRPCHeaders.appendReceived(name: name, value: value, to: &metadata)
                }
            }
        }

        guard method == "POST" else {
            return .failure(Rejection(
                httpStatus: 405,
                status: Status(code: .internal, message: "gRPC requires the POST method, got '\(method ?? "")'")
            ))
        }
        guard GRPCHeaders.isGRPCContentType(contentType) else {
            return .failure(Rejection(
                httpStatus: 415,
                status: Status(code: .internal, message: "invalid gRPC request content-type '\(contentType ?? "")'")
            ))
        }
        let path = pathValue ?? ""
        guard let handler = router.handler(for: path) else {
            let message: String
            if let parsed = MethodPath(path) {
                message = router.hasService(parsed.service)
                    ? "unknown method \(parsed.method) for service \(parsed.service)"
                    : "unknown service \(parsed.service)"
            } else {
                message = "malformed method path '\(path)'"
            }
            return .failure(Rejection(status: Status(code: .unimplemented, message: message)))
        }
        var requestEncoding = CompressionAlgorithm.identity
        if let encoding {
            guard let known = CompressionAlgorithm(encodingName: encoding) else {
                return .failure(Rejection(
                    status: Status(
                        code: .unimplemented,
                        message: "grpc-encoding '\(encoding)' is not supported (supported: \(CompressionAlgorithm.acceptEncoding))"
                    ),
                    acceptEncoding: CompressionAlgorithm.acceptEncoding
                ))
            }
            requestEncoding = known
        }
        var timeout: Int64?
        if let timeoutValue {
            guard let parsed = GRPCTimeout.parse(timeoutValue) else {
                return .failure(Rejection(status: Status(code: .internal, message: "malformed grpc-timeout '\(timeoutValue)'")))
            }
            timeout = parsed
        }
        if let metadataError {
            return .failure(Rejection(status: Status(metadataError)))
        }
        return .success(RequestHead(
            path: path,
            handler: handler,
            metadata: metadata,
            timeoutNanoseconds: timeout,
            encoding: requestEncoding,
            acceptEncoding: acceptEncoding
        ))
    }
}
