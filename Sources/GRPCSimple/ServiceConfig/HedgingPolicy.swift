/// How a call is hedged (gRFC A6): the first attempt goes out at once, another every
/// `hedgingDelay` until `maxAttempts` are out or one is answered; the first to end with OK
/// or a fatal status wins and the others are cancelled. Unary methods only: a
/// streaming method with a hedging policy goes out once.
public struct HedgingPolicy: Sendable, Hashable {
    /// Attempts in all, the first included: 2 to 5 (more are read as 5).
    public var maxAttempts: Int
    /// The delay between two attempts; zero sends them all at once.
    public var hedgingDelay: Duration
    /// Status codes after which the other attempts go on (any other status ends the call).
    public var nonFatalStatusCodes: Set<StatusCode>

    /// A hedging policy; `maxAttempts` is capped at 5.
    public init(maxAttempts: Int, hedgingDelay: Duration = .zero, nonFatalStatusCodes: Set<StatusCode> = []) {
        self.maxAttempts = min(maxAttempts, 5)
        self.hedgingDelay = hedgingDelay
        self.nonFatalStatusCodes = nonFatalStatusCodes
    }

    init(_ reader: ConfigReader) throws(RPCError) {
        guard let attempts = try reader.integer("maxAttempts"), attempts >= 2 else {
            throw ConfigReader.error(reader.field("maxAttempts"), "must be a whole number of at least 2")
        }
        self.init(
            maxAttempts: attempts,
            hedgingDelay: try reader.duration("hedgingDelay") ?? .zero,
            nonFatalStatusCodes: try reader.statusCodes("nonFatalStatusCodes") ?? []
        )
    }
}
