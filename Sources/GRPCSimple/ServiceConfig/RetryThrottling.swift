/// A channel's brake on retries (gRFC A6): a bucket of `maxTokens` tokens; every failed
/// attempt takes one, every success gives back `tokenRatio`; retries and hedges go out only
/// while more than half the tokens are left, so a failing backend is not flooded.
public struct RetryThrottling: Sendable, Hashable {
    /// The bucket's size: 1 to 1000.
    public var maxTokens: Int
    /// What a success gives back (up to three decimals), above 0.
    public var tokenRatio: Double

    /// A throttling policy; `maxTokens` is kept within 1...1000.
    public init(maxTokens: Int, tokenRatio: Double) {
        self.maxTokens = min(max(maxTokens, 1), 1000)
        self.tokenRatio = (tokenRatio * 1000).rounded(.down) / 1000
    }

    init(_ reader: ConfigReader) throws(RPCError) {
        guard let tokens = try reader.integer("maxTokens"), (1...1000).contains(tokens) else {
            throw ConfigReader.error(reader.field("maxTokens"), "must be a whole number from 1 to 1000")
        }
        guard let ratio = try reader.number("tokenRatio"), ratio > 0 else {
            throw ConfigReader.error(reader.field("tokenRatio"), "must be a number above 0")
        }
        self.init(maxTokens: tokens, tokenRatio: ratio)
    }
}
