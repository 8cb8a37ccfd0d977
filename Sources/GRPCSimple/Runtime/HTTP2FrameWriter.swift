import NIOCore
import NIOHTTP2

/// A call that gathers the messages it sends until its connection flushes.
protocol GatheringStream: AnyObject {
    /// Writes the gathered messages as one DATA frame.
    func writePendingData()
}

/// What the server and client connection handlers share for writing: frames go out
/// through the handler's context, every stream's gathered messages go out as one DATA
/// frame each just before a flush, and flushes are coalesced (`FlushCoalescer`) so that
/// every call writing in one read burst or event-loop tick shares a single flush.
protocol HTTP2FrameWriter: ChannelOutboundHandler, AnyObject where OutboundOut == HTTP2Frame {
    var context: ChannelHandlerContext? { get }
    var eventLoop: any EventLoop { get }
    var flushes: FlushCoalescer { get set }
    /// Streams with messages gathered for the next flush.
    var streamsWithPendingData: [any GatheringStream] { get set }
    /// Flushes at the end of the read burst or tick.
    func scheduleFlush()
}

extension HTTP2FrameWriter {
    func write(_ frame: HTTP2Frame, promise: EventLoopPromise<Void>? = nil) {
        guard let context = self.context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(self.wrapOutboundOut(frame), promise: promise)
    }

    /// Writes a DATA frame; once it is written (or dropped), its `trackedBytes` leave
    /// `backpressure`, which may let a waiting writer go on.
    func writeData(
        _ data: ByteBuffer,
        stream: HTTP2StreamID,
        endStream: Bool = false,
        trackedBytes: Int,
        backpressure: WriteBackpressure?
    ) {
        let frame = HTTP2Frame(streamID: stream, payload: .data(.init(data: .byteBuffer(data), endStream: endStream)))
        guard trackedBytes > 0, let backpressure else {
            return self.write(frame)
        }
        let promise = self.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in backpressure.complete(trackedBytes) }
        self.write(frame, promise: promise)
    }

    /// Sends the WINDOW_UPDATE a stream's received messages have made due, if any.
    func grantWindowIfDue(stream: HTTP2StreamID, _ inbound: inout InboundMessages) -> Bool {
        guard let increment = inbound.windowUpdate() else { return false }
        self.write(HTTP2Frame(streamID: stream, payload: .windowUpdate(windowSizeIncrement: increment)))
        return true
    }

    /// `stream` has gathered messages: write them before the next flush.
    func hasPendingData(_ stream: any GatheringStream) {
        self.streamsWithPendingData.append(stream)
    }

    /// Writes every stream's gathered messages, one DATA frame per stream.
    func writePendingData() {
        guard !self.streamsWithPendingData.isEmpty else { return }
        for stream in self.streamsWithPendingData {
            stream.writePendingData()
        }
        self.streamsWithPendingData.removeAll(keepingCapacity: true)
    }

    /// Asks for a flush at the end of the read burst, or at the end of this tick.
    func requestFlush() {
        guard self.flushes.flushRequested() else { return }
        self.eventLoop.assumeIsolated().execute {
            self.flushes.deferredFlushRan()
            self.writePendingData()
            self.context?.flush()
        }
    }

    /// The read burst ended: flushes if anything was written during it.
    func readBurstEnded() {
        if self.flushes.readEnded() {
            self.writePendingData()
            self.context?.flush()
        }
    }

    // MARK: Connection actions both sides carry out

    /// Writes a keepalive PING and asks for a flush.
    func sendKeepalivePing() {
        self.write(HTTP2Frame(streamID: .rootStream, payload: .ping(KeepaliveStateMachine.pingData, ack: false)))
        self.requestFlush()
    }

    /// Writes GOAWAY after every gathered message, and flushes.
    func sendGoAway(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode, debugData: String?) {
        let opaqueData = debugData.map { ByteBuffer(string: $0) }
        self.write(
            HTTP2Frame(
                streamID: .rootStream,
                payload: .goAway(lastStreamID: lastStreamID, errorCode: errorCode, opaqueData: opaqueData)))
        self.writePendingData()
        self.context?.flush()
    }

    /// Closes once everything written so far is on the wire: a PING goes last, and the
    /// close waits for its write.
    func closeWhenWritten() {
        guard let context = self.context else { return }
        self.writePendingData()
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(
            self.wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(), ack: false))),
            promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
