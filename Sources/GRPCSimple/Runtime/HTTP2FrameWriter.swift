import NIOCore
import NIOHTTP2

/// What the server and client connection handlers share for writing: frames go out
/// through the handler's context, and flushes are coalesced so that every call writing
/// in one event-loop tick shares a single flush.
protocol HTTP2FrameWriter: ChannelOutboundHandler, AnyObject where OutboundOut == HTTP2Frame {
    var context: ChannelHandlerContext? { get }
    var eventLoop: any EventLoop { get }
    /// Whether a flush is already scheduled for the end of this tick.
    var deferredFlushScheduled: Bool { get set }
    /// Writes what the handler's streams have gathered; called before every flush.
    func writePendingData()
}

extension HTTP2FrameWriter {
    func write(_ frame: HTTP2Frame, promise: EventLoopPromise<Void>? = nil) {
        guard let context = self.context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(self.wrapOutboundOut(frame), promise: promise)
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
