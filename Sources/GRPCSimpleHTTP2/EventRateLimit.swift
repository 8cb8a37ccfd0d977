import NIOCore

/// Counts events (RST_STREAMs received, control frames that ask for an answer, ...) in fixed
/// windows of time: at most `limit` events from the start of a window to `window` later.
///
/// O(1) time and memory per connection. A fixed window lets a peer place up to twice the
/// limit around a window boundary, which is still a bound; NIOHTTP2's defaults (200 per 30 s)
/// are the default here.
public struct EventRateLimit: Sendable {
    /// The most events allowed in one window.
    public let limit: Int
    /// The length of a window.
    public let window: TimeAmount
    private var windowStart: NIODeadline = .uptimeNanoseconds(0)
    private var count = 0

    /// A limit of `limit` events per `window`.
    public init(limit: Int, window: TimeAmount) {
        self.limit = limit
        self.window = window
    }

    /// Counts one event at `now`; false once the window holds more than `limit` events.
    public mutating func record(at now: NIODeadline) -> Bool {
        if self.count == 0 || now - self.windowStart >= self.window {
            self.windowStart = now
            self.count = 0
        }
        self.count += 1
        return self.count <= self.limit
    }
}
