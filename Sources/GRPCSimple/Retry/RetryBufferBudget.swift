/// A channel's bound on the request bytes all its calls keep for retries together (gRFC
/// A6's channel-wide retry buffer): a call that would go past it commits to its current
/// attempt, and gives back what it held. Lives on the channel's event loop.
final class RetryBufferBudget {
    /// The most bytes all calls may keep.
    let limit: Int
    /// The bytes kept now.
    private(set) var used = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes `count` bytes if they fit; false (taking nothing) if not.
    func reserve(_ count: Int) -> Bool {
        guard count <= self.limit - self.used else { return false }
        self.used += count
        return true
    }

    /// Gives back `count` bytes taken earlier.
    func release(_ count: Int) {
        self.used = max(0, self.used - count)
    }
}
