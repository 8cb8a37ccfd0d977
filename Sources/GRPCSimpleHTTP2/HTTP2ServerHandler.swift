import NIOCore

/// Runs an `HTTP2ServerConnection` on a channel: bytes read become `HTTP2ServerEvent`s passed
/// on to the next handler, and the `HTTP2ServerCommand`s written to it become frames, written
/// and flushed in one buffer.
///
/// The handler carries out what the state machine decides and nothing more: it writes the
/// connection's output at the end of each read burst and on each flush, closes the channel
/// after a connection error or an abort once the GOAWAY is written, arms the SETTINGS timeout
/// when the channel becomes active, and stops reading while the channel is not writable.
public final class HTTP2ServerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    /// Bytes from the client.
    public typealias InboundIn = ByteBuffer
    /// What the bytes meant.
    public typealias InboundOut = HTTP2ServerEvent
    /// The application's responses and requests of the connection.
    public typealias OutboundIn = HTTP2ServerCommand
    /// Bytes to the client.
    public typealias OutboundOut = ByteBuffer

    private var connection: HTTP2ServerConnection?
    private let configuration: HTTP2ServerConfiguration
    /// How long the client has to acknowledge our SETTINGS (§6.5.3).
    private let settingsTimeout: TimeAmount
    private var settingsTimer: Scheduled<Void>?
    private var started = false
    /// The channel is being closed after our final GOAWAY.
    private var closing = false
    /// A read held back while the channel was not writable.
    private var readPending = false

    /// A handler for one accepted connection.
    public init(configuration: HTTP2ServerConfiguration = .init(), settingsTimeout: TimeAmount = .seconds(10)) {
        self.configuration = configuration
        self.settingsTimeout = settingsTimeout
    }

    /// The connection's state, for tests and for decisions that need it (active streams).
    public var state: HTTP2ServerConnection? { self.connection }

    // MARK: Lifecycle

    /// Starts the connection if the channel is already active.
    public func handlerAdded(context: ChannelHandlerContext) {
        self.connection = HTTP2ServerConnection(
            configuration: self.configuration, allocator: context.channel.allocator)
        if context.channel.isActive {
            self.start(context: context)
        }
    }

    /// Disarms the SETTINGS timer.
    public func handlerRemoved(context: ChannelHandlerContext) {
        self.settingsTimer?.cancel()
        self.settingsTimer = nil
    }

    /// Starts the connection: our SETTINGS go out.
    public func channelActive(context: ChannelHandlerContext) {
        self.start(context: context)
        context.fireChannelActive()
    }

    /// Disarms the SETTINGS timer.
    public func channelInactive(context: ChannelHandlerContext) {
        self.settingsTimer?.cancel()
        self.settingsTimer = nil
        context.fireChannelInactive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !self.started else { return }
        self.started = true
        self.connection?.start()
        self.writeOutput(context: context, flush: true)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.settingsTimer = context.eventLoop.scheduleTask(in: self.settingsTimeout) {
            handler.value.settingsTimerFired(context: boundContext.value)
        }
    }

    private func settingsTimerFired(context: ChannelHandlerContext) {
        self.settingsTimer = nil
        guard let error = self.connection?.settingsTimeoutElapsed() else { return }
        context.fireChannelRead(self.wrapInboundOut(.connectionError(error)))
        self.writeOutput(context: context, flush: true)
    }

    // MARK: Input

    /// Feeds the bytes to the connection and passes on every event they cause.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.connection != nil else { return }
        self.connection?.receive(self.unwrapInboundIn(data))
        while let event = self.connection?.nextEvent() {
            context.fireChannelRead(self.wrapInboundOut(event))
        }
        if self.connection?.isClosed == true {
            self.writeOutput(context: context, flush: true)
        }
    }

    /// Writes and flushes the answers the read burst asked for.
    public func channelReadComplete(context: ChannelHandlerContext) {
        self.writeOutput(context: context, flush: true)
        context.fireChannelReadComplete()
    }

    /// The client half-closed: the connection ends (GOAWAY, then close).
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.connection?.receiveEndOfInput()
            self.writeOutput(context: context, flush: true)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Holds reads back while the channel is not writable: a client that does not read our
    /// answers (PING and SETTINGS ACKs, RST_STREAMs) cannot make us buffer them without bound.
    public func read(context: ChannelHandlerContext) {
        if context.channel.isWritable || self.closing {
            context.read()
        } else {
            self.readPending = true
        }
    }

    /// Resumes a read held back while the channel was not writable.
    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, self.readPending {
            self.readPending = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Output

    /// Carries out a command on the connection; its frames go out at the next flush.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = self.unwrapOutboundIn(data)
        switch command {
        case .headers(let streamID, let headers):
            self.connection?.sendHeaders(streamID: streamID, headers: headers)
        case .data(let streamID, let data):
            self.connection?.sendData(streamID: streamID, data: data)
        case .trailers(let streamID, let trailers):
            self.connection?.sendTrailers(streamID: streamID, trailers: trailers)
        case .reset(let streamID, let code):
            self.connection?.resetStream(streamID: streamID, code: code)
        case .dataConsumed(let streamID, let bytes):
            self.connection?.dataConsumed(streamID: streamID, bytes: bytes)
        case .ping(let opaque):
            self.connection?.sendPing(opaque: opaque)
        case .drain(let lastStreamID):
            self.connection?.startDraining(lastStreamID: lastStreamID)
        case .abort(let code, let debugData):
            self.connection?.abort(code: code, debugData: debugData)
        }
        promise?.succeed()
    }

    /// Writes the connection's output and flushes it.
    public func flush(context: ChannelHandlerContext) {
        self.writeOutput(context: context, flush: true)
    }

    /// Writes what the connection produced; after its final GOAWAY, closes the channel.
    private func writeOutput(context: ChannelHandlerContext, flush: Bool) {
        guard let output = self.connection?.takeOutput() else { return }
        let closed = self.connection?.isClosed ?? false
        if output.readableBytes > 0 {
            context.write(self.wrapOutboundOut(output), promise: nil)
        }
        if flush || closed {
            context.flush()
        }
        if closed, !self.closing {
            self.closing = true
            self.settingsTimer?.cancel()
            self.settingsTimer = nil
            context.close(promise: nil)
        }
    }
}
