/// Reconnection delays per grpc/grpc `doc/connection-backoff.md`: start at one second,
/// grow by 1.6 up to two minutes, each delay jittered by ±20%.
public struct ConnectionBackoff: Sendable, Hashable {
    public var initialBackoff: Duration = .seconds(1)
    public var multiplier: Double = 1.6
    public var jitter: Double = 0.2
    public var maximumBackoff: Duration = .seconds(120)
    /// The least time a connection attempt is given before it is abandoned.
    public var minimumConnectTimeout: Duration = .seconds(20)

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
