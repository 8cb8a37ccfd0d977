/// When a connection flushes: once at the end of a read burst when something was written
/// during it, otherwise once at the end of the event-loop tick, never once per write.
/// Many calls writing in one tick share one flush.
struct FlushCoalescer {
    private var isReading = false
    private var flushAfterRead = false
    private(set) var isDeferredFlushScheduled = false

    /// A read burst started (`channelRead`).
    mutating func readStarted() {
        self.isReading = true
    }

    /// The read burst ended (`channelReadComplete`); returns true when the handler must
    /// flush now.
    mutating func readEnded() -> Bool {
        self.isReading = false
        defer { self.flushAfterRead = false }
        return self.flushAfterRead
    }

    /// Something was written; returns true when the handler must schedule a flush at the
    /// end of this tick (none is scheduled, and no read burst will flush it).
    mutating func flushRequested() -> Bool {
        if self.isReading {
            self.flushAfterRead = true
            return false
        }
        guard !self.isDeferredFlushScheduled else { return false }
        self.isDeferredFlushScheduled = true
        return true
    }

    /// The scheduled flush runs.
    mutating func deferredFlushRan() {
        self.isDeferredFlushScheduled = false
    }
}
