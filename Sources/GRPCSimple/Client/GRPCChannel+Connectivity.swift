import NIOCore

extension GRPCChannel {
    /// The channel's state now: IDLE until its first call, then CONNECTING, READY, or
    /// TRANSIENT_FAILURE as its load-balancing policy reports, and SHUTDOWN once closed.
    public var connectivityState: ConnectivityState {
        get async {
            let core = self.core
            return (try? await self.eventLoop.submit { core.value.state }.get()) ?? .shutdown
        }
    }

    /// The channel's state now, then every change, until it shuts down (or the task
    /// iterating stops).
    public func connectivityStates() -> AsyncStream<ConnectivityState> {
        let core = self.core
        let eventLoop = self.eventLoop
        return AsyncStream { continuation in
            let id = eventLoop.submit {
                core.value.addWatcher { state in
                    continuation.yield(state)
                    if state == .shutdown { continuation.finish() }
                }
            }
            continuation.onTermination = { _ in
                id.whenSuccess { id in eventLoop.execute { core.value.removeWatcher(id) } }
            }
        }
    }

    /// Starts connecting now, if idle, instead of at the first call.
    public func connect() {
        let core = self.core
        self.eventLoop.execute { core.value.connect() }
    }
}
