import NIOConcurrencyHelpers
import NIOCore

/// The connections a server has open, so that a shutdown can drain them and learn when
/// the last one has closed (no polling).
final class ServerConnections: Sendable {
    private struct State {
        var byID: [ObjectIdentifier: NIOLoopBound<any ServerConnectionControl>] = [:]
        var isShuttingDown = false
        var emptyWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Registers a new connection; false once the server is shutting down (the caller
    /// closes it).
    func add(_ handler: NIOLoopBound<any ServerConnectionControl>, id: ObjectIdentifier) -> Bool {
        self.state.withLockedValue { state in
            guard !state.isShuttingDown else { return false }
            state.byID[id] = handler
            return true
        }
    }

    /// A connection closed; wakes the shutdown waiting for the last one.
    func remove(id: ObjectIdentifier) {
        let waiters: [CheckedContinuation<Void, Never>] = self.state.withLockedValue { state in
            state.byID[id] = nil
            guard state.byID.isEmpty else { return [] }
            defer { state.emptyWaiters = [] }
            return state.emptyWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Refuses new connections from now on; returns the open ones.
    func beginShutdown() -> [NIOLoopBound<any ServerConnectionControl>] {
        self.state.withLockedValue { state in
            state.isShuttingDown = true
            return Array(state.byID.values)
        }
    }

    /// The connections still open.
    var open: [NIOLoopBound<any ServerConnectionControl>] {
        self.state.withLockedValue { Array($0.byID.values) }
    }

    /// Returns when every connection has closed, or at `timeout`, whichever comes first.
    func waitUntilEmpty(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let isEmpty: Bool = self.state.withLockedValue { state in
                        guard !state.byID.isEmpty else { return true }
                        state.emptyWaiters.append(continuation)
                        return false
                    }
                    if isEmpty { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
            }
            await group.next()
            group.cancelAll()
            // The timeout won: release the waiter so the group can end.
            let waiters: [CheckedContinuation<Void, Never>] = self.state.withLockedValue { state in
                defer { state.emptyWaiters = [] }
                return state.emptyWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }
}

/// What the server does to each of its connections when it shuts down, whatever protocol
/// the connection speaks.
protocol ServerConnectionControl: AnyObject {
    /// Stops accepting calls and closes once the calls in flight are done.
    func startDraining()
    /// Cancels every call still running and closes the connection.
    func forceClose(reason: String)
}
