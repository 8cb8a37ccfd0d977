/// Outlier detection (gRFC A50): the settings of the `outlier_detection` policy, which
/// watches how the calls to each address end and, every `interval`, stops sending calls
/// for a while to the addresses that fail much more than the others
/// (`successRateEjection`) or than a threshold (`failurePercentageEjection`).
///
/// An ejected address gets no new calls for `baseEjectionTime` times the number of times
/// it was ejected (at most `max(baseEjectionTime, maxEjectionTime)`), then is used again;
/// each interval it is not ejected counts one ejection off. Its connection stays open
/// meanwhile, so it is used again at once. With neither algorithm set, nothing is counted
/// and nothing ejected.
///
/// ```swift
/// configuration.loadBalancing = .outlierDetection(
///     try OutlierDetection(
///         interval: .seconds(10),
///         failurePercentageEjection: try .init(threshold: 85, requestVolume: 50)
///     ),
///     child: .roundRobin
/// )
/// ```
public struct OutlierDetection: Sendable, Hashable {
    /// How often the counts are looked at: ejections and returns happen then. Default 10 s.
    public let interval: Duration
    /// How long a first ejection lasts; the nth lasts n times as long. Default 30 s.
    public let baseEjectionTime: Duration
    /// The longest an ejection lasts, unless `baseEjectionTime` is longer. Default 300 s.
    public let maxEjectionTime: Duration
    /// The most addresses ejected at once, in percent of all (but at least one, unless
    /// 0). Default 10.
    public let maxEjectionPercent: Int
    /// Ejects addresses whose success rate is far below the others'; nil: off.
    public let successRateEjection: SuccessRateEjection?
    /// Ejects addresses whose failure percentage is above a threshold; nil: off.
    public let failurePercentageEjection: FailurePercentageEjection?

    /// Outlier detection with these settings (gRFC A50's defaults otherwise). Throws
    /// INVALID_ARGUMENT naming the field when one is out of range: `interval` must be
    /// positive, the ejection times not negative, `maxEjectionPercent` 0 to 100.
    public init(
        interval: Duration = .seconds(10),
        baseEjectionTime: Duration = .seconds(30),
        maxEjectionTime: Duration = .seconds(300),
        maxEjectionPercent: Int = 10,
        successRateEjection: SuccessRateEjection? = nil,
        failurePercentageEjection: FailurePercentageEjection? = nil
    ) throws(RPCError) {
        try self.init(
            interval: interval,
            baseEjectionTime: baseEjectionTime,
            maxEjectionTime: maxEjectionTime,
            maxEjectionPercent: maxEjectionPercent,
            successRateEjection: successRateEjection,
            failurePercentageEjection: failurePercentageEjection,
            fieldError: Self.fieldError("OutlierDetection")
        )
    }

    /// Checks each field, and names a bad one through `fieldError` (the service config
    /// names it by its JSON path).
    init(
        interval: Duration,
        baseEjectionTime: Duration,
        maxEjectionTime: Duration,
        maxEjectionPercent: Int,
        successRateEjection: SuccessRateEjection?,
        failurePercentageEjection: FailurePercentageEjection?,
        fieldError: (_ field: String, _ problem: String) -> RPCError
    ) throws(RPCError) {
        guard interval > .zero else {
            throw fieldError("interval", "must be positive, got \(interval)")
        }
        guard baseEjectionTime >= .zero else {
            throw fieldError("baseEjectionTime", "must not be negative, got \(baseEjectionTime)")
        }
        guard maxEjectionTime >= .zero else {
            throw fieldError("maxEjectionTime", "must not be negative, got \(maxEjectionTime)")
        }
        try Self.checkPercent(maxEjectionPercent, "maxEjectionPercent", fieldError)
        self.interval = interval
        self.baseEjectionTime = baseEjectionTime
        self.maxEjectionTime = maxEjectionTime
        self.maxEjectionPercent = maxEjectionPercent
        self.successRateEjection = successRateEjection
        self.failurePercentageEjection = failurePercentageEjection
    }

    /// Whether any algorithm is on: only then are calls counted and the timer run.
    var isEnabled: Bool { self.successRateEjection != nil || self.failurePercentageEjection != nil }

    /// The longest an ejection lasts: `max(baseEjectionTime, maxEjectionTime)`.
    var ejectionTimeLimit: Duration { max(self.baseEjectionTime, self.maxEjectionTime) }

    static func fieldError(_ type: String) -> (String, String) -> RPCError {
        { field, problem in RPCError(.invalidArgument, "invalid outlier detection: \(type).\(field) \(problem)") }
    }

    static func checkPercent(
        _ value: Int, _ field: String, _ fieldError: (String, String) -> RPCError
    ) throws(RPCError) {
        guard (0...100).contains(value) else {
            throw fieldError(field, "must be 0 to 100, got \(value)")
        }
    }

    static func checkCount(
        _ value: Int, _ field: String, _ fieldError: (String, String) -> RPCError
    ) throws(RPCError) {
        guard value >= 0, value <= Int(UInt32.max) else {
            throw fieldError(field, "must be 0 to \(UInt32.max), got \(value)")
        }
    }
}
