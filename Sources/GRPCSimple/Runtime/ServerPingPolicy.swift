import NIOCore

/// The server's rule for the PINGs a client sends (grpc/grpc `doc/keepalive.md`, enforced
/// the way grpc-go and C-core do it).
///
/// A PING that comes sooner than `minimumInterval` after the previous one is a strike;
/// with no call open and pings without calls not permitted, the interval is two hours.
/// Two strikes are forgiven, the third earns GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
/// Sending the client a response (headers or data) since its last PING clears the strikes:
/// a client that pings while it is getting answers is not abusing anything.
struct ServerPingPolicy {
    /// What to do about a PING.
    enum Verdict: Equatable {
        /// Within the rules.
        case allow
        /// Too soon, but forgiven so far.
        case strike
        /// Too soon once too often: answer GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
        case tooManyPings
    }

    /// Strikes forgiven before the next one closes the connection (grpc's default).
    static let maximumStrikes = 2
    /// The interval required between PINGs when there is no call and the server does not
    /// permit pings without calls (grpc-go's and C-core's value).
    static let intervalWithoutCalls = TimeAmount.hours(2)

    let minimumInterval: TimeAmount
    let permitWithoutCalls: Bool
    private var lastPing: NIODeadline?
    private(set) var strikes = 0
    private var respondedSinceLastPing = false

    init(minimumInterval: TimeAmount, permitWithoutCalls: Bool) {
        self.minimumInterval = minimumInterval
        self.permitWithoutCalls = permitWithoutCalls
    }

    /// Whether the server has sent headers or data since the client's last PING: the next
    /// PING then follows a response (it is allowed, and it is not counted against
    /// `ControlFrameLimit`).
    var hasRespondedSinceLastPing: Bool { self.respondedSinceLastPing }

    /// The server sent headers or data.
    mutating func responseSent() {
        self.respondedSinceLastPing = true
    }

    /// A PING (not an ack) arrived at `now`.
    mutating func pingReceived(at now: NIODeadline, hasActiveCalls: Bool) -> Verdict {
        defer { self.lastPing = now }
        if self.respondedSinceLastPing {
            self.respondedSinceLastPing = false
            self.strikes = 0
            return .allow
        }
        guard let lastPing = self.lastPing else { return .allow }
        let required = hasActiveCalls || self.permitWithoutCalls ? self.minimumInterval : Self.intervalWithoutCalls
        if now - lastPing >= required {
            return .allow
        }
        self.strikes += 1
        return self.strikes > Self.maximumStrikes ? .tooManyPings : .strike
    }
}
