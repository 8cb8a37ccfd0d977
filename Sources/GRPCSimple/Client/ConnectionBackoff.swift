/// Reconnection delays per grpc/grpc `doc/connection-backoff.md`: start at one second,
/// grow by 1.6 up to two minutes, each delay jittered by ±20%.
public struct ConnectionBackoff: Sendable, Hashable {
    /// The delay after the first failed attempt.
    public var initialBackoff: Duration = .seconds(1)
    /// What each further delay is multiplied by.
    public var multiplier: Double = 1.6
    /// How much each delay varies at random, as a fraction (0.2: ±20 %).
    public var jitter: Double = 0.2
    /// The longest delay between attempts.
    public var maximumBackoff: Duration = .seconds(120)
    /// The least time a connection attempt is given before it is abandoned.
    public var minimumConnectTimeout: Duration = .seconds(20)

    /// grpc's defaults: 1 s, ×1.6 per attempt, ±20 % jitter, at most 120 s, 20 s to connect.
    public init() {}

    /// The delays between attempts, in order.
    struct Iterator {
        let policy: ConnectionBackoff
        private var current: Double
        private var randomUnit: () -> Double

        init(policy: ConnectionBackoff, random: @escaping () -> Double = { Double.random(in: -1...1) }) {
            self.policy = policy
            self.current = Self.seconds(policy.initialBackoff)
            self.randomUnit = random
        }

        mutating func next() -> Duration {
            let base = self.current
            self.current = min(self.current * self.policy.multiplier, Self.seconds(self.policy.maximumBackoff))
            let jittered = base + base * self.policy.jitter * self.randomUnit()
            return .nanoseconds(Int64(max(0, jittered) * 1e9))
        }

        static func seconds(_ duration: Duration) -> Double {
            let (seconds, attoseconds) = duration.components
            return Double(seconds) + Double(attoseconds) / 1e18
        }
    }
}
