import NIOHTTP2

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
