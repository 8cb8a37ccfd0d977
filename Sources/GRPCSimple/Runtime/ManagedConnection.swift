import NIOCore

/// A connection handler whose life a `ConnectionStateMachine` decides. The actions both
/// sides carry out alike (timers, keepalive PINGs, GOAWAY, closing once written) live here;
/// each side says only how it aborts, and what it logs.
protocol ManagedConnection: HTTP2FrameWriter {
    /// The connection's state machine.
    var machine: ConnectionStateMachine { get set }
    /// The timers its actions arm.
    var timers: ConnectionTimers { get set }
    /// GOAWAY is about to go out, for `why`.
    func willSendGoAway(why: String)
    /// Closes now: the calls still open fail with UNAVAILABLE and `reason`.
    func abortConnection(reason: String)
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
