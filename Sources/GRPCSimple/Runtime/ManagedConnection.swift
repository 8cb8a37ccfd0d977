import NIOCore
import NIOHTTP2

/// A connection handler whose life a `ConnectionStateMachine` decides. Carrying out its
/// actions is written once, here: arming timers, and the writes each side does its own way
/// (the client through NIOHTTP2's frames, `HTTP2FrameWriter`; the server through its own
/// transport's state machine).
protocol ManagedConnection: AnyObject {
    /// The loop the connection lives on; its timers fire there.
    var eventLoop: any EventLoop { get }
    /// The connection's state machine.
    var machine: ConnectionStateMachine { get set }
    /// The timers its actions arm.
    var timers: ConnectionTimers { get set }
    /// GOAWAY is about to go out, for `why`.
    func willSendGoAway(why: String)
    /// Closes now: the calls still open fail with UNAVAILABLE and `reason`.
    func abortConnection(reason: String)
    /// Writes a keepalive PING (`KeepaliveStateMachine.pingData`) and asks for a flush.
    func sendKeepalivePing()
    /// Writes GOAWAY after every gathered message, and flushes.
    func sendGoAway(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode, debugData: String?)
    /// Closes once everything written so far is on the wire.
    func closeWhenWritten()
}

extension ManagedConnection {
    /// Carries out what the connection's state machine decided, in order.
    func perform(_ actions: [ConnectionStateMachine.Action]) {
        for action in actions { self.perform(action) }
    }

    /// Carries out one decision of the connection's state machine.
    func perform(_ action: ConnectionStateMachine.Action) {
        switch action {
        case .arm(let timer, let delay):
            self.timers.arm(timer, after: delay, on: self.eventLoop) { timer in
                self.timers.fired(timer)
                self.perform(self.machine.timerFired(timer))
            }
        case .disarm(let timer):
            self.timers.disarm(timer)
        case .sendKeepalivePing:
            self.sendKeepalivePing()
        case .sendGoAway(let lastStreamID, let errorCode, let debugData, let why):
            self.willSendGoAway(why: why)
            self.sendGoAway(lastStreamID: lastStreamID, errorCode: errorCode, debugData: debugData)
        case .closeWhenWritten:
            self.closeWhenWritten()
        case .abort(let reason):
            self.abortConnection(reason: reason)
        }
    }
}
