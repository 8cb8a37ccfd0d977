import NIOCore
import NIOHTTP2

/// A call that gathers the messages it sends until its connection flushes.
protocol GatheringStream: AnyObject {
    /// Writes the gathered messages as one DATA frame.
    func writePendingData()
}

/// What the server and client connection handlers share for writing: frames go out
/// through the handler's context, every stream's gathered messages go out as one DATA
/// frame each just before a flush, and flushes are coalesced so that every call writing
/// in one event-loop tick shares a single flush.
protocol HTTP2FrameWriter: ChannelOutboundHandler, AnyObject where OutboundOut == HTTP2Frame {
    var context: ChannelHandlerContext? { get }
    var eventLoop: any EventLoop { get }
    /// Whether a flush is already scheduled for the end of this tick.
    var deferredFlushScheduled: Bool { get set }
    /// Streams with messages gathered for the next flush.
    var streamsWithPendingData: [any GatheringStream] { get set }
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

    /// Flushes once, after everything already queued on the event loop has run.
    func scheduleDeferredFlush() {
        guard !self.deferredFlushScheduled else { return }
        self.deferredFlushScheduled = true
        self.eventLoop.assumeIsolated().execute {
            self.deferredFlushScheduled = false
            self.writePendingData()
            self.context?.flush()
        }
    }
}
