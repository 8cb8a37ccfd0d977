import NIOConcurrencyHelpers

/// Bounds the bytes a call has written but the transport has not yet sent.
///
/// Writers add bytes as they write and suspend once the total passes the high watermark;
/// the event loop removes bytes as writes complete and resumes the writers once it falls
/// under the low watermark. This is what makes a slow reader slow down a fast writer.
final class WriteBackpressure: Sendable {
    private struct State {
        var pendingBytes = 0
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var failure: RPCError?
    }

    private let state = NIOLockedValueBox(State())
    let highWatermark: Int
    let lowWatermark: Int

    init(highWatermark: Int = 64 * 1024, lowWatermark: Int = 16 * 1024) {
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
    }

    /// Records `count` bytes about to be written; returns true when the writer should wait.
    /// Throws when the call has already ended.
    func add(_ count: Int) throws(RPCError) -> Bool {
        let result: Result<Bool, RPCError> = self.state.withLockedValue { state in
            if let failure = state.failure { return .failure(failure) }
            state.pendingBytes += count
            return .success(state.pendingBytes > self.highWatermark)
        }
        return try result.get()
    }

    /// Waits until the pending bytes fall under the low watermark or the call ends.
    func waitForCapacity() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resumeNow: Result<Void, RPCError>? = self.state.withLockedValue { state in
                if let failure = state.failure { return .failure(failure) }
                if state.pendingBytes <= self.lowWatermark { return .success(()) }
                state.waiters.append(continuation)
                return nil
            }
            if let resumeNow { continuation.resume(with: resumeNow.mapError { $0 as any Error }) }
        }
    }

    /// `count` bytes left for the transport (or were dropped).
    func complete(_ count: Int) {
        let waiters: [CheckedContinuation<Void, any Error>] = self.state.withLockedValue { state in
            state.pendingBytes -= count
            guard state.pendingBytes <= self.lowWatermark, !state.waiters.isEmpty else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The call ended: writers waiting now, and any that come later, fail with `error`.
    func fail(_ error: RPCError) {
        let waiters: [CheckedContinuation<Void, any Error>] = self.state.withLockedValue { state in
            if state.failure == nil { state.failure = error }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }
}
