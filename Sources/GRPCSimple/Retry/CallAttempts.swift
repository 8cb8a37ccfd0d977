import NIOCore

/// A call's request messages, and whether it may start again on another HTTP/2 stream.
///
/// It holds the messages not yet written (the call has no stream yet), and keeps those
/// written while the call may still start again: transparently, when the server never
/// processed it (GOAWAY past it, REFUSED_STREAM, at most three times); or by its retry
/// policy (gRFC A6), after a failure with a retryable status that came before any response
/// headers. A call without a retry policy keeps only a request that was whole when it
/// started, as before policies existed.
///
/// The call commits (the messages are dropped, and its policy no longer applies) when
/// response headers arrive, when the kept messages pass the buffer limit, or when its
/// attempts are used up. Pure: it decides, the stream writes.
struct CallAttempts {
    /// A request message, and how many of its bytes the back-pressure still counts.
    struct Message {
        var bytes: ByteBuffer
        var trackedBytes: Int
    }

    /// Whether to start the call again.
    enum Decision: Equatable {
        /// Start a new attempt after this delay.
        case retry(after: Duration)
        /// End the call with its failure.
        case fail
    }

    let policy: RetryPolicy?
    /// The most request bytes kept for a retry; past it the call commits.
    let bufferLimit: Int
    /// The messages not yet written (from `firstUnwritten`) and those kept for a retry.
    private(set) var messages: [Message] = []
    private(set) var firstUnwritten = 0
    private var keptBytes = 0
    /// Whether the caller has ended the requests.
    private(set) var requestEnded = false
    /// Whether the call can no longer start again by its policy.
    private(set) var isCommitted: Bool
    /// Whether written messages were dropped: then not even a transparent retry is possible.
    private(set) var isBufferLost = false
    /// Attempts started so far, the first included: what the next one's
    /// `grpc-previous-rpc-attempts` says.
    private(set) var attemptsMade = 1
    private var transparentRetries = 0
    private var hasStarted = false
    /// The channel's bound on what all its calls keep for retries, once the call has one.
    private var channelBudget: RetryBufferBudget?
    /// The bytes this call holds of `channelBudget`.
    private var reservedBytes = 0
    /// Whether the channel's budget refused this call's messages: it commits.
    private var isOverChannelBudget = false
    private let random: () -> Double

    /// - Parameters:
    ///   - policy: The method's retry policy, if it has one.
    ///   - bufferLimit: The most request bytes kept for retries.
    ///   - random: A number in 0..<1, for the backoff's jitter.
    init(policy: RetryPolicy?, bufferLimit: Int, random: @escaping () -> Double = { Double.random(in: 0..<1) }) {
        self.policy = policy
        self.bufferLimit = bufferLimit
        self.isCommitted = policy == nil
        self.random = random
    }

    /// Whether messages sent now are kept after they are written.
    private var keepsWrittenMessages: Bool { !self.isBufferLost && (self.policy != nil || !self.hasStarted) }

    // MARK: Messages

    /// A message waits for the call's stream (the last one when `end`).
    mutating func queue(_ bytes: ByteBuffer, trackedBytes: Int, end: Bool) {
        if end { self.requestEnded = true }
        self.messages.append(Message(bytes: bytes, trackedBytes: trackedBytes))
        self.keep(bytes.readableBytes)
    }

    /// A message went straight onto the call's stream (the last one when `end`).
    mutating func wrote(_ bytes: ByteBuffer, end: Bool) {
        if end { self.requestEnded = true }
        guard self.keepsWrittenMessages else { return }
        self.messages.append(Message(bytes: bytes, trackedBytes: 0))
        self.firstUnwritten = self.messages.count
        self.keep(bytes.readableBytes)
    }

    /// The caller ended the requests without a message.
    mutating func recordEnd() {
        self.requestEnded = true
    }

    private mutating func keep(_ count: Int) {
        self.keptBytes += count
        self.reserve(count)
        if self.keptBytes > self.bufferLimit || self.isOverChannelBudget, self.hasStarted {
            self.dropWrittenMessages()
        }
    }

    /// The call is on `budget`'s channel: what it keeps for retries counts against the
    /// channel's bound from now on (the bytes it already keeps too).
    mutating func share(_ budget: RetryBufferBudget) {
        guard self.channelBudget == nil, self.policy != nil, !self.isBufferLost else { return }
        self.channelBudget = budget
        self.reserve(self.keptBytes)
    }

    private mutating func reserve(_ count: Int) {
        guard let budget = self.channelBudget, !self.isOverChannelBudget, count > 0 else { return }
        if budget.reserve(count) {
            self.reservedBytes += count
        } else {
            self.isOverChannelBudget = true
        }
    }

    /// Gives back what the call holds of the channel's bound: it keeps nothing for retries
    /// any more.
    private mutating func releaseChannelBudget() {
        self.channelBudget?.release(self.reservedBytes)
        self.reservedBytes = 0
        self.channelBudget = nil
    }

    /// The messages to write on a stream that just started; from now on they count as
    /// written. The first start of a call without a retry policy keeps them only if the
    /// request is whole.
    mutating func takeUnwritten() -> ArraySlice<Message> {
        let unwritten = self.messages[self.firstUnwritten...]
        self.firstUnwritten = self.messages.count
        if !self.hasStarted {
            self.hasStarted = true
            if self.policy == nil && !self.requestEnded || self.keptBytes > self.bufferLimit
                || self.isOverChannelBudget
            {
                self.dropWrittenMessages()
            }
        }
        return unwritten
    }

    private mutating func dropWrittenMessages() {
        self.releaseChannelBudget()
        self.isCommitted = true
        self.isBufferLost = true
        self.messages.removeFirst(self.firstUnwritten)
        self.firstUnwritten = 0
        self.keptBytes = self.messages.reduce(0) { $0 + $1.bytes.readableBytes }
    }

    /// Response headers arrived: this attempt is the call.
    mutating func commit() {
        guard !self.isBufferLost else { return }
        self.dropWrittenMessages()
    }

    // MARK: Starting again

    /// The server did not process the attempt: whether to start again at once.
    mutating func transparentRetry() -> Bool {
        guard !self.isBufferLost, self.transparentRetries < 3 else { return false }
        self.transparentRetries += 1
        self.rewind()
        return true
    }

    /// The attempt failed with `status` before response headers; `pushback` is the server's
    /// `grpc-retry-pushback-ms`, if it sent one. Counts the failure against `throttle`.
    mutating func decide(after status: Status, pushback: String?, throttle: RetryThrottle?) -> Decision {
        guard let policy = self.policy, !self.isCommitted, policy.retryableStatusCodes.contains(status.code) else {
            return .fail
        }
        throttle?.recordFailure()
        guard self.attemptsMade < policy.maxAttempts, throttle?.allowsRetry ?? true else {
            return .fail
        }
        let delay: Duration
        if let pushback {
            // The server's word: a delay in ms, or (negative, or not a number) no retry.
            guard let milliseconds = Int64(pushback), milliseconds >= 0 else { return .fail }
            delay = .milliseconds(milliseconds)
        } else {
            // A random delay up to min(initial × multiplier^(n-1), max).
            var ceiling = Self.seconds(policy.initialBackoff)
            for _ in 1..<self.attemptsMade { ceiling *= policy.backoffMultiplier }
            ceiling = min(ceiling, Self.seconds(policy.maxBackoff))
            // Bounded below Int64.max nanoseconds (9e18 ns, ~285 years): a service config may
            // set backoffs of centuries, and converting more would trap.
            delay = .nanoseconds(Int64(min(ceiling * self.random() * 1e9, 9e18)))
        }
        self.attemptsMade += 1
        self.rewind()
        return .retry(after: delay)
    }

    /// Every kept message is to be written again (their bytes were already reported to the
    /// back-pressure on their first write).
    private mutating func rewind() {
        for index in self.messages.indices { self.messages[index].trackedBytes = 0 }
        self.firstUnwritten = 0
    }

    /// The call ended: what its unwritten messages still count in the back-pressure.
    mutating func dropAll() -> Int {
        self.releaseChannelBudget()
        let tracked = self.messages[self.firstUnwritten...].reduce(0) { $0 + $1.trackedBytes }
        self.messages = []
        self.firstUnwritten = 0
        self.keptBytes = 0
        self.isBufferLost = true
        self.isCommitted = true
        return tracked
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
