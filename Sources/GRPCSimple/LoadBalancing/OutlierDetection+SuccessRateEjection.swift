extension OutlierDetection {
    /// The success-rate algorithm: among the addresses with at least `requestVolume` calls
    /// in the interval (and only when there are `minimumHosts` of them), ejects those whose
    /// success rate is below `mean - stdev * stdevFactor / 1000`.
    public struct SuccessRateEjection: Sendable, Hashable {
        /// How many standard deviations below the mean, in thousandths. Default 1900 (1.9).
        public let stdevFactor: Int
        /// The chance, in percent, that an outlier found is ejected. Default 100.
        public let enforcementPercentage: Int
        /// How many addresses must have enough calls for the algorithm to run. Default 5.
        public let minimumHosts: Int
        /// How many calls in the interval an address needs to be judged. Default 100.
        public let requestVolume: Int

        /// The success-rate algorithm with these settings (gRFC A50's defaults otherwise).
        /// Throws INVALID_ARGUMENT naming the field when one is out of range:
        /// `enforcementPercentage` must be 0 to 100, the others not negative.
        public init(
            stdevFactor: Int = 1900,
            enforcementPercentage: Int = 100,
            minimumHosts: Int = 5,
            requestVolume: Int = 100
        ) throws(RPCError) {
            try self.init(
                stdevFactor: stdevFactor,
                enforcementPercentage: enforcementPercentage,
                minimumHosts: minimumHosts,
                requestVolume: requestVolume,
                fieldError: OutlierDetection.fieldError("SuccessRateEjection")
            )
        }

        init(
            stdevFactor: Int,
            enforcementPercentage: Int,
            minimumHosts: Int,
            requestVolume: Int,
            fieldError: (_ field: String, _ problem: String) -> RPCError
        ) throws(RPCError) {
            try OutlierDetection.checkCount(stdevFactor, "stdevFactor", fieldError)
            try OutlierDetection.checkPercent(enforcementPercentage, "enforcementPercentage", fieldError)
            try OutlierDetection.checkCount(minimumHosts, "minimumHosts", fieldError)
            try OutlierDetection.checkCount(requestVolume, "requestVolume", fieldError)
            self.stdevFactor = stdevFactor
            self.enforcementPercentage = enforcementPercentage
            self.minimumHosts = minimumHosts
            self.requestVolume = requestVolume
        }
    }
}
