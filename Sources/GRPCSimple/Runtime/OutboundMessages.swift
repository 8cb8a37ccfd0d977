import NIOCore

/// The messages one stream (either side) has sent since its connection last flushed,
/// gathered to go out as one DATA frame: a call streaming small messages costs HTTP/2 one
/// frame, one promise and one back-pressure callback per flush, not per message.
///
/// Lives on the event loop, inside `ServerStream` or `ClientStream`.
struct OutboundMessages {
    /// Bytes gathered beyond this go out without waiting for the flush.
    static let coalescingLimit = 16 * 1024

    private var pending: ByteBuffer?
    /// How many of the pending bytes the call's back-pressure counts.
    private var trackedBytes = 0

    /// What a message appended asks of the stream.
    struct Appended {
        /// The first message since the last flush: the stream must tell its connection
        /// (`HTTP2FrameWriter.hasPendingData`) so the flush writes it.
        var isFirst: Bool
        /// Enough is gathered: write it now rather than at the flush.
        var isFull: Bool
    }

    var isEmpty: Bool { self.pending == nil }

    /// Gathers one enveloped message, of which the back-pressure counts `trackedBytes`.
    mutating func append(_ envelope: ByteBuffer, trackedBytes: Int) -> Appended {
        self.trackedBytes += trackedBytes
        let isFirst = self.pending == nil
        if isFirst {
            self.pending = envelope
        } else {
            self.pending!.writeImmutableBuffer(envelope)
        }
        return Appended(isFirst: isFirst, isFull: self.pending!.readableBytes >= Self.coalescingLimit)
    }

    /// Takes everything gathered: the bytes for one DATA frame, and how many of them the
    /// back-pressure counts. Nil when nothing is gathered.
    mutating func take() -> (data: ByteBuffer, trackedBytes: Int)? {
        guard let data = self.pending else { return nil }
        self.pending = nil
        defer { self.trackedBytes = 0 }
        return (data, self.trackedBytes)
    }
}
