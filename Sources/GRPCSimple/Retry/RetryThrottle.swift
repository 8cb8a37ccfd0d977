/// A channel's token bucket for retries (gRFC A6 `retryThrottling`): a failed attempt takes
/// a token, a successful call gives back `tokenRatio`; a retry may go out only while more
/// than half the tokens are left. Lives on the channel's event loop.
final class RetryThrottle {
    let maxTokens: Double
    let tokenRatio: Double
    private(set) var tokens: Double

    init(_ settings: RetryThrottling) {
        self.maxTokens = Double(settings.maxTokens)
        self.tokenRatio = settings.tokenRatio
        self.tokens = Double(settings.maxTokens)
    }

    /// Whether a retry may go out now.
    var allowsRetry: Bool { self.tokens > self.maxTokens / 2 }

    /// An attempt failed with a status its policy retries.
    func recordFailure() {
        self.tokens = max(0, self.tokens - 1)
    }

    /// A call succeeded.
    func recordSuccess() {
        self.tokens = min(self.maxTokens, self.tokens + self.tokenRatio)
    }
}
