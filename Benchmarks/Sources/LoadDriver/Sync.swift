import Synchronization

/// A value handed from one task to another exactly once: `put` or `fail` once, `take` once.
public final class Handoff<Value: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Value, any Error>)
        case done(Result<Value, any Error>)
        case taken
    }

    private let state = Mutex(State.empty)

    public init() {}

    /// Delivers `value`; ignored once the handoff has a value or an error.
    public func put(_ value: Value) { self.complete(.success(value)) }

    /// Delivers `error` to the taker; ignored once the handoff has a value or an error.
    public func fail(_ error: any Error) { self.complete(.failure(error)) }

    private func complete(_ result: Result<Value, any Error>) {
        let waiter: CheckedContinuation<Value, any Error>? = self.state.withLock { state in
            switch state {
            case .empty:
                state = .done(result)
                return nil
            case .waiting(let continuation):
                state = .taken
                return continuation
            case .done, .taken:
                return nil
            }
        }
        waiter?.resume(with: result)
    }

    /// Waits for the value (or the error).
    public func take() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Value, any Error>? = self.state.withLock { state in
                switch state {
                case .empty:
                    state = .waiting(continuation)
                    return nil
                case .done(let result):
                    state = .taken
                    return result
                case .waiting, .taken:
                    return .failure(DriverError("Handoff.take called twice"))
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

/// A one-shot event many tasks can wait for.
public final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    /// Wakes every waiter, now and later.
    public func fire() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if state.fired { return [] }
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `fire()` has been called.
    public func wait() async {
        await withCheckedContinuation { continuation in
            let fired = self.state.withLock { state -> Bool in
                if state.fired { return true }
                state.waiters.append(continuation)
                return false
            }
            if fired { continuation.resume() }
        }
    }
}

/// Releases every waiter once `count` arrivals have happened.
final class Barrier: Sendable {
    private let remaining: Mutex<Int>
    private let released = Signal()

    init(count: Int) {
        self.remaining = Mutex(count)
        if count <= 0 { self.released.fire() }
    }

    /// Counts one arrival (each participant arrives exactly once).
    func arrive() {
        let last = self.remaining.withLock { remaining -> Bool in
            remaining -= 1
            return remaining == 0
        }
        if last { self.released.fire() }
    }

    /// Waits until every participant has arrived.
    func wait() async { await self.released.wait() }
}

/// A failure the driver itself detected (a wrong answer, a stream that ended early).
public struct DriverError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
