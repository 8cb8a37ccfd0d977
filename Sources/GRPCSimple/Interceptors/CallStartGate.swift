import Synchronization

/// How a streaming call's requests wait for its interceptor chain: they are framed and
/// sent once the chain has started the call (with the compression it chose, and seen by
/// the observers it registered), and fail with the chain's error if it never does.
final class CallStartGate: Sendable {
    /// What the chain decided, for the messages of the call.
    struct Started: Sendable {
        var observers: MessageObservers
        var compression: CompressionAlgorithm
    }

    private enum State {
        case waiting([CheckedContinuation<Started, any Error>])
        case started(Started)
        case failed(RPCError)
    }

    private let state = Mutex(State.waiting([]))

    /// The chain started the call.
    func open(_ started: Started) {
        let waiters: [CheckedContinuation<Started, any Error>] = self.state.withLock { state in
            guard case .waiting(let waiters) = state else { return [] }
            state = .started(started)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: started) }
    }

    /// The chain failed before starting the call, or the call ended before the chain
    /// started it. Returns false, doing nothing, once the gate has opened or failed.
    @discardableResult
    func fail(_ error: RPCError) -> Bool {
        let waiters: [CheckedContinuation<Started, any Error>]? = self.state.withLock { state in
            guard case .waiting(let waiters) = state else { return nil }
            state = .failed(error)
            return waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(throwing: error) }
        return true
    }

    /// Why the gate failed, if it did.
    var failure: RPCError? {
        self.state.withLock { state in
            if case .failed(let error) = state { return error }
            return nil
        }
    }

    /// Waits until the chain has started the call.
    func wait() async throws -> Started {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<Started, RPCError>? = self.state.withLock { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .started(let started): return .success(started)
                case .failed(let error): return .failure(error)
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }

    /// The chain's decision, if it has started the call.
    var started: Started? {
        self.state.withLock { state in
            if case .started(let started) = state { return started }
            return nil
        }
    }
}
