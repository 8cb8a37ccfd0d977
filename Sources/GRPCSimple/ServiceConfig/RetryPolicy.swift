/// How a call is retried after it fails (gRFC A6): up to `maxAttempts` attempts in all,
/// after a failure with one of `retryableStatusCodes` that came before the server sent
/// response headers, each after a random delay up to
/// `min(initialBackoff × backoffMultiplier^(n-1), maxBackoff)`.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included: 2 to 5 (more are read as 5).
    public var maxAttempts: Int
    /// The largest delay before the first retry.
    public var initialBackoff: Duration
    /// The largest delay before any retry.
    public var maxBackoff: Duration
    /// What the largest delay is multiplied by after each retry.
    public var backoffMultiplier: Double
    /// The status codes that make a call worth retrying, e.g. UNAVAILABLE.
    public var retryableStatusCodes: Set<StatusCode>

    /// A retry policy; `maxAttempts` is capped at 5.
    public init(
        maxAttempts: Int,
        initialBackoff: Duration,
        maxBackoff: Duration,
        backoffMultiplier: Double,
        retryableStatusCodes: Set<StatusCode>
    ) {
        self.maxAttempts = min(maxAttempts, 5)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.backoffMultiplier = backoffMultiplier
        self.retryableStatusCodes = retryableStatusCodes
    }

    init(_ reader: ConfigReader) throws(RPCError) {
        guard let attempts = try reader.integer("maxAttempts"), attempts >= 2 else {
            throw ConfigReader.error(reader.field("maxAttempts"), "must be a whole number of at least 2")
        }
        guard let initial = try reader.duration("initialBackoff"), initial > .zero else {
            throw ConfigReader.error(reader.field("initialBackoff"), "must be a duration above 0")
        }
        guard let maximum = try reader.duration("maxBackoff"), maximum > .zero else {
            throw ConfigReader.error(reader.field("maxBackoff"), "must be a duration above 0")
        }
        guard let multiplier = try reader.number("backoffMultiplier"), multiplier > 0 else {
            throw ConfigReader.error(reader.field("backoffMultiplier"), "must be a number above 0")
        }
        guard let codes = try reader.statusCodes("retryableStatusCodes"), !codes.isEmpty else {
            throw ConfigReader.error(reader.field("retryableStatusCodes"), "must list at least one status code")
        }
        guard !codes.contains(.ok) else {
            throw ConfigReader.error(reader.field("retryableStatusCodes"), "cannot list OK")
        }
        self.init(
            maxAttempts: attempts,
            initialBackoff: initial,
            maxBackoff: maximum,
            backoffMultiplier: multiplier,
            retryableStatusCodes: codes
        )
    }
}
