/// How a stream left the stream table: what RFC 9113 §5.1 asks of frames that still arrive on it.
public enum StreamClosure: Sendable, Equatable {
    /// Both halves ended (END_STREAM received and sent). Any DATA or HEADERS after the
    /// client's END_STREAM is a connection error STREAM_CLOSED.
    case ended
    /// The client reset it. Any frame but PRIORITY after its RST_STREAM is a stream error
    /// STREAM_CLOSED.
    case resetByPeer
    /// We reset or refused it. Frames the client sent before it saw our RST_STREAM are still
    /// in flight: they are ignored (flow control still counts their DATA).
    case resetByUs
}

/// The streams closed most recently and how each closed, so that a frame on a closed stream
/// gets the answer §5.1 asks for. A ring of `capacity` entries: a stream closed longer ago is
/// treated as closed without a record (its frames are stream errors; a HEADERS frame that would
/// open it is a connection error, §5.1.1).
///
/// Looked up only for frames on streams absent from the stream table (rare), so a linear scan
/// of a small ring is enough. Allocated at the first closure: an idle connection pays nothing.
public struct ClosedStreams: Sendable {
    private var ids: [UInt32] = []
    private var closures: [StreamClosure] = []
    private var next = 0
    /// How many closures are remembered.
    public let capacity: Int

    /// An empty record that remembers the last `capacity` closures.
    public init(capacity: Int = 64) {
        self.capacity = max(capacity, 1)
    }

    /// Records that `streamID` closed, and how.
    public mutating func record(_ streamID: UInt32, _ closure: StreamClosure) {
        if self.ids.count < self.capacity {
            self.ids.append(streamID)
            self.closures.append(closure)
            return
        }
        self.ids[self.next] = streamID
        self.closures[self.next] = closure
        self.next = (self.next + 1) % self.capacity
    }

    /// How `streamID` closed, if it is one of the remembered streams.
    public func closure(of streamID: UInt32) -> StreamClosure? {
        guard let index = self.ids.lastIndex(of: streamID) else { return nil }
        return self.closures[index]
    }
}
