import NIOCore
import NIOHTTP2

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

/// When to send a keepalive PING and when to give up on a peer that stopped answering
/// (grpc-go's rule, used by both sides): a PING goes out after `time` without any frame
/// from the peer; if no frame at all (the ack or anything else) arrives within
/// `timeout` of it, the connection is dead. Only decisions live here; the connection
/// handler owns the timers.
struct KeepaliveStateMachine {
    /// What to do when the `time` timer fires.
    enum TickAction: Equatable {
        /// Send a PING and start the `timeout` timer.
        case sendPing
        /// The peer was heard from: wait another `time`.
        case waitAgain
        /// No call open and pings without calls not permitted: stop the timer until a
        /// call opens.
        case pause
    }

    /// The opaque data of keepalive PINGs, telling their acks apart from other PINGs'.
    static let pingData = HTTP2PingData(withInteger: 0x6B65_6570_616C_6976)  // "keepaliv"

    let permitWithoutCalls: Bool
    private var heardFromPeer = false
    private(set) var isAwaitingAck = false

    init(permitWithoutCalls: Bool) {
        self.permitWithoutCalls = permitWithoutCalls
    }

    /// A frame came from the peer.
    mutating func frameReceived() {
        self.heardFromPeer = true
    }

    /// The `time` timer fired.
    mutating func timeElapsed(hasActiveCalls: Bool) -> TickAction {
        if !hasActiveCalls && !self.permitWithoutCalls {
            return .pause
        }
        if self.heardFromPeer {
            self.heardFromPeer = false
            return .waitAgain
        }
        self.isAwaitingAck = true
        return .sendPing
    }

    /// The ack of a keepalive PING arrived: wait `time` before the next one.
    mutating func ackReceived() {
        self.isAwaitingAck = false
        self.heardFromPeer = false
    }

    /// The `timeout` timer fired; returns true when the peer is dead (nothing came since
    /// the PING), false when it spoke and the `time` timer should start again.
    mutating func timeoutElapsed() -> Bool {
        guard self.isAwaitingAck else { return false }
        self.isAwaitingAck = false
        if self.heardFromPeer {
            self.heardFromPeer = false
            return false
        }
        return true
    }
}
