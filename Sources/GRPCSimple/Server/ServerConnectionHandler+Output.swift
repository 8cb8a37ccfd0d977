import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK

/// The writing half of a server connection: the calls' response headers, DATA and trailers
/// into the transport, the transport's output to the channel once per read burst or tick,
/// and the calls' back-pressure released as the channel writes what they sent.
extension ServerConnectionHandler {
    // MARK: Output, for the streams

    /// A call's response headers.
    func sendHeaders(streamID: UInt32, _ headers: HPACKHeaders) {
        self.transport.sendHeaders(streamID: streamID, headers: headers)
        self.machine.responseSent()
    }

    /// A call's gathered response messages, as DATA. `trackedBytes` of them count in the
    /// call's back-pressure until they are handed to the channel (after the client's
    /// flow-control window let them out).
    func sendData(streamID: UInt32, _ data: ByteBuffer, trackedBytes: Int, backpressure: WriteBackpressure?) {
        self.transport.sendData(streamID: streamID, data: data)
        // Counted at the write, not when a message is gathered: a PING read while a response
        // waits to be written is acked before it, and a client that pings each time DATA
        // arrives (grpc-go's and C-core's bandwidth probe) must not collect a strike for it.
        self.machine.responseSent()
        guard trackedBytes > 0, let backpressure else { return }
        if self.transport.bufferedOutputBytes(streamID: streamID) > 0 {
            let waiting = self.trackedAwaitingWindow[streamID]?.1 ?? 0
            self.trackedAwaitingWindow[streamID] = (backpressure, waiting + trackedBytes)
        } else {
            self.trackedInOutput.append((backpressure, trackedBytes))
        }
    }

    /// Ends a call: its trailers (after any DATA still waiting for window), and RST_STREAM
    /// NO_ERROR when `resetsOpenRequest` and nothing waits (a reset would drop what waits;
    /// the client stops sending once it reads the trailers). The call leaves the table.
    func sendTrailers(streamID: UInt32, _ trailers: HPACKHeaders, resetsOpenRequest: Bool) {
        self.transport.sendTrailers(streamID: streamID, trailers: trailers)
        if resetsOpenRequest, self.transport.bufferedOutputBytes(streamID: streamID) == 0 {
            self.transport.resetStream(streamID: streamID, code: .noError)
        }
        self.machine.responseSent()
        self.requestFlush()
        guard self.streams.removeValue(forKey: streamID) != nil else { return }
        if let action = self.machine.streamClosed(now: .now()) {
            self.perform(action)
        }
        if !Transport.multiplexes {
            // HTTP/1.1 reads the next request once this response is complete: a pipelined
            // one may wait in the input. Handled from the loop, not inside this call.
            self.eventLoop.assumeIsolated().execute {
                self.handleEvents()
                self.resumeReadingIfHeld()
                self.requestFlush()
            }
        }
    }

    /// The call's handler read `bytes` of request DATA: the stream's window may come back.
    func dataConsumed(streamID: UInt32, bytes: Int) {
        self.transport.dataConsumed(streamID: streamID, bytes: bytes)
        if !Transport.multiplexes {
            // HTTP/1.1 parses more of the body once there is room.
            self.eventLoop.assumeIsolated().execute {
                self.handleEvents()
                self.resumeReadingIfHeld()
            }
        }
        if self.transport.hasOutput {
            self.requestFlush()
        }
    }

    /// `stream` has gathered messages: write them before the next flush.
    func hasPendingData(_ stream: ServerStream) {
        self.streamsWithPendingData.append(stream)
    }

    /// Flushes at the end of the current read burst, or at the end of this event-loop
    /// tick: many calls finishing together share one flush.
    func scheduleFlush() {
        self.requestFlush()
    }

    func requestFlush() {
        guard self.flushes.flushRequested() else { return }
        self.eventLoop.assumeIsolated().execute {
            self.flushes.deferredFlushRan()
            self.releaseTrackedBytesNoLongerWaiting()
            self.flush()
        }
    }

    /// Every stream's gathered messages into the transport, the transport's output to the
    /// channel, and a flush. Counted bytes in that output leave their back-pressure once the
    /// channel has written them.
    func flush() {
        if !self.streamsWithPendingData.isEmpty {
            for stream in self.streamsWithPendingData {
                stream.writePendingData()
            }
            self.streamsWithPendingData.removeAll(keepingCapacity: true)
        }
        guard let context = self.context else {
            self.releaseAllTrackedBytes()
            return
        }
        if self.transport.hasOutput {
            let output = self.transport.takeOutput()
            if self.trackedInOutput.isEmpty {
                context.write(self.wrapOutboundOut(output), promise: nil)
            } else {
                let tracked = self.trackedInOutput
                self.trackedInOutput.removeAll()
                let promise = context.eventLoop.makePromise(of: Void.self)
                promise.futureResult.whenComplete { _ in
                    for (backpressure, bytes) in tracked { backpressure.complete(bytes) }
                }
                context.write(self.wrapOutboundOut(output), promise: promise)
            }
        }
        context.flush()
        if self.transport.isClosed || (self.closeWhenStreamsEnd && !self.hasOutputAwaitingWindow) {
            self.closeWhenWritten()
        }
    }

    /// Counted bytes that waited for the client's window and have now gone into the output.
    func releaseTrackedBytesNoLongerWaiting() {
        guard !self.trackedAwaitingWindow.isEmpty else { return }
        for (streamID, tracked) in self.trackedAwaitingWindow
        where self.transport.bufferedOutputBytes(streamID: streamID) == 0 {
            self.trackedAwaitingWindow.removeValue(forKey: streamID)
            self.trackedInOutput.append(tracked)
        }
    }

    /// The stream is gone: what it had waiting will never be written.
    func releaseTrackedBytes(awaitingWindowOn streamID: UInt32) {
        if let (backpressure, bytes) = self.trackedAwaitingWindow.removeValue(forKey: streamID) {
            backpressure.complete(bytes)
        }
    }

    func releaseAllTrackedBytes() {
        for (backpressure, bytes) in self.trackedInOutput { backpressure.complete(bytes) }
        self.trackedInOutput.removeAll()
        for (backpressure, bytes) in self.trackedAwaitingWindow.values { backpressure.complete(bytes) }
        self.trackedAwaitingWindow.removeAll()
    }
}
