import NIOCore

/// A unary call under a hedging policy (gRFC A6): the request goes out on a first attempt,
/// and again on another every `hedgingDelay` until an attempt answers, up to `maxAttempts`
/// at once. The first attempt to end with OK, or with a status the policy does not call
/// non-fatal, is the call's result, and the others are cancelled. A non-fatal failure
/// sends the next attempt at once (or after the server's `grpc-retry-pushback-ms`; a
/// negative pushback stops hedging), unless retry throttling says no.
///
/// The caller's `ClientStream` is the call's face: it holds the caller's waiter, deadline
/// and cancellation, and never goes to a connection itself; each attempt is a stream of its
/// own, placed by the channel's core, so attempts spread over backends as the load-balancing
/// policy picks. An attempt commits when it ends rather than when its response headers
/// arrive: for a unary call a server sends those with the response, so the two differ only
/// for a server that sends headers early and answers late. Lives on the channel's event loop.
final class HedgedUnaryCall {
    private let call: ClientStream
    private let policy: HedgingPolicy
    private let core: ChannelCore
    private let eventLoop: any EventLoop
    /// Makes attempt number `index`, its request already queued.
    private let makeAttempt: (_ index: Int) -> ClientStream
    private var attempts: [ClientStream] = []
    private var nextHedge: Scheduled<Void>?
    /// Whether no further attempt may start (pushback said stop, or throttling).
    private var hedgingStopped = false
    private var isDone = false

    init(
        call: ClientStream,
        policy: HedgingPolicy,
        core: ChannelCore,
        eventLoop: any EventLoop,
        makeAttempt: @escaping (_ index: Int) -> ClientStream
    ) {
        self.call = call
        self.policy = policy
        self.core = core
        self.eventLoop = eventLoop
        self.makeAttempt = makeAttempt
    }

    /// Sends the first attempt. The call's end (the caller cancels, the deadline passes, or
    /// a result) cancels every attempt still running.
    func start() {
        self.call.onFinish { _ in self.finish(nil) }
        self.call.record?.attemptStarted()
        self.startAttempt()
    }

    private var mayStartAnother: Bool {
        !self.isDone && !self.hedgingStopped && self.attempts.count < self.policy.maxAttempts
    }

    private func startAttempt() {
        guard self.mayStartAnother else { return }
        if !self.attempts.isEmpty, let throttle = self.core.retryThrottle, !throttle.allowsRetry {
            // Throttled: no more hedges, as no more retries.
            self.hedgingStopped = true
            return
        }
        let attempt = self.makeAttempt(self.attempts.count)
        self.attempts.append(attempt)
        attempt.onFinish { outcome in self.attemptEnded(attempt, outcome) }
        self.core.start(attempt)
        self.scheduleNextHedge(after: self.policy.hedgingDelay)
    }

    private func scheduleNextHedge(after delay: Duration) {
        self.nextHedge?.cancel()
        self.nextHedge = nil
        guard self.mayStartAnother else { return }
        self.nextHedge = self.eventLoop.assumeIsolated().scheduleTask(in: delay.timeAmount) {
            self.nextHedge = nil
            self.startAttempt()
        }
    }

    private func attemptEnded(_ attempt: ClientStream, _ outcome: Result<Metadata, RPCError>) {
        guard !self.isDone else { return }
        switch outcome {
        case .success:
            return self.finish(attempt.unaryResult().mapError { $0 as? RPCError ?? RPCError(.internal, "\($0)") })
        case .failure(let error) where !self.policy.nonFatalStatusCodes.contains(error.code):
            return self.finish(.failure(error))
        case .failure(let error):
            if let throttle = self.core.retryThrottle {
                throttle.recordFailure()
                if !throttle.allowsRetry { self.hedgingStopped = true }
            }
            if let pushback = error.trailingMetadata["grpc-retry-pushback-ms"] {
                // The server's word: a delay before the next attempt, or (negative, or not a
                // number) no more attempts.
                if let milliseconds = Int64(pushback), milliseconds >= 0 {
                    self.scheduleNextHedge(after: .milliseconds(milliseconds))
                } else {
                    self.hedgingStopped = true
                }
            } else {
                self.nextHedge?.cancel()
                self.nextHedge = nil
                self.startAttempt()
            }
            // Nothing running and nothing to come: the last failure is the call's.
            let running = self.attempts.contains { !$0.isFinished }
            if !running && (self.nextHedge == nil || !self.mayStartAnother) {
                self.finish(.failure(error))
            }
        }
    }

    /// Commits to `result` (nil: the call itself ended) and cancels every other attempt.
    private func finish(_ result: Result<ClientStream.UnaryResult, RPCError>?) {
        guard !self.isDone else { return }
        self.isDone = true
        self.nextHedge?.cancel()
        self.nextHedge = nil
        let lost = RPCError(.cancelled, "another hedged attempt of \(self.call.path) answered first")
        for attempt in self.attempts where !attempt.isFinished {
            attempt.cancel(result == nil ? RPCError(.cancelled, "the call ended") : lost)
        }
        if let result { self.call.finishHedged(result) }
    }
}
