import NIOCore

/// The bound on the control frames a client sends that ask the server for work or an
/// answer: SETTINGS, PRIORITY, ALTSVC, ORIGIN, PING acks, and the PINGs that follow no
/// response. Past `maximumCount` in one `window`, the server answers GOAWAY
/// ENHANCE_YOUR_CALM and closes the connection.
///
/// It stands in for NIOHTTP2's own control-frame limit, which counts every PING, and
/// which the server turns off: grpc-go's and C-core's clients send a PING each time DATA
/// arrives once the previous one is acked (their bandwidth-delay probe), one per round
/// trip for as long as a call streams, hundreds a second on a fast link. Such a PING
/// follows a response, as `ServerPingPolicy` sees it, and is free here, as it is under
/// grpc-go's and C-core's servers, whose only rule for PINGs is their ping policy; a
/// client can then send at most one free PING per response it gets.
///
/// Fixed windows: O(1) time and memory per connection (NIOHTTP2's sliding window keeps
/// one timestamp per frame). A client can place up to twice the limit around a window's
/// boundary, which is still a bound.
struct ControlFrameLimit {
    /// NIOHTTP2's defaults: 200 frames per 30 seconds.
    static let defaultMaximumCount = 200
    static let defaultWindow = TimeAmount.seconds(30)

    let maximumCount: Int
    let window: TimeAmount
    private var windowStart: NIODeadline?
    private var count = 0

    init(maximumCount: Int = Self.defaultMaximumCount, window: TimeAmount = Self.defaultWindow) {
        self.maximumCount = maximumCount
        self.window = window
    }

    /// Counts one control frame at `now`; false once the window holds more than
    /// `maximumCount`.
    mutating func record(at now: NIODeadline) -> Bool {
        if let start = self.windowStart, now - start < self.window {
            self.count += 1
        } else {
            self.windowStart = now
            self.count = 1
        }
        return self.count <= self.maximumCount
    }
}
