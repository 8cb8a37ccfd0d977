import NIOCore

/// The timers of one connection, at most one of each `ConnectionStateMachine.Timer`.
/// Lives on the connection's event loop, inside its handler.
struct ConnectionTimers {
    private var scheduled: [ConnectionStateMachine.Timer: Scheduled<Void>] = [:]

    /// Starts `timer`, replacing it if it runs; `fire` runs on `eventLoop` when it fires.
    mutating func arm(
        _ timer: ConnectionStateMachine.Timer,
        after delay: TimeAmount,
        on eventLoop: any EventLoop,
        fire: @escaping (ConnectionStateMachine.Timer) -> Void
    ) {
        self.scheduled[timer]?.cancel()
        self.scheduled[timer] = eventLoop.assumeIsolated().scheduleTask(in: delay) {
            fire(timer)
        }
    }

    /// Stops `timer` if it runs.
    mutating func disarm(_ timer: ConnectionStateMachine.Timer) {
        self.scheduled.removeValue(forKey: timer)?.cancel()
    }

    /// Forgets `timer`, which has just fired.
    mutating func fired(_ timer: ConnectionStateMachine.Timer) {
        self.scheduled[timer] = nil
    }

    /// Stops every timer.
    mutating func disarmAll() {
        for timer in self.scheduled.values { timer.cancel() }
        self.scheduled = [:]
    }
}
