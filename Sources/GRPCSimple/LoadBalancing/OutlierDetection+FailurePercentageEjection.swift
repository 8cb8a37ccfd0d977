extension OutlierDetection {
    /// The failure-percentage algorithm: when there are at least `minimumHosts` addresses,
    /// ejects each one with at least `requestVolume` calls in the interval whose share of
    /// failed calls is above `threshold` percent.
    public struct FailurePercentageEjection: Sendable, Hashable {
        /// The failure percentage above which an address is an outlier. Default 85.
        public let threshold: Int
        /// The chance, in percent, that an outlier found is ejected. Default 100.
        public let enforcementPercentage: Int
        /// How many addresses there must be for the algorithm to run. Default 5.
        public let minimumHosts: Int
        /// How many calls in the interval an address needs to be judged. Default 50.
        public let requestVolume: Int

        /// The failure-percentage algorithm with these settings (gRFC A50's defaults
        /// otherwise). Throws INVALID_ARGUMENT naming the field when one is out of range:
        /// `threshold` and `enforcementPercentage` must be 0 to 100, the others not negative.
        public init(
            threshold: Int = 85,
            enforcementPercentage: Int = 100,
            minimumHosts: Int = 5,
            requestVolume: Int = 50
        ) throws(RPCError) {
            try self.init(
                threshold: threshold,
                enforcementPercentage: enforcementPercentage,
                minimumHosts: minimumHosts,
                requestVolume: requestVolume,
                fieldError: OutlierDetection.fieldError("FailurePercentageEjection")
            )
        }

        init(
            threshold: Int,
            enforcementPercentage: Int,
            minimumHosts: Int,
            requestVolume: Int,
            fieldError: (_ field: String, _ problem: String) -> RPCError
        ) throws(RPCError) {
            try OutlierDetection.checkPercent(threshold, "threshold", fieldError)
            try OutlierDetection.checkPercent(enforcementPercentage, "enforcementPercentage", fieldError)
            try OutlierDetection.checkCount(minimumHosts, "minimumHosts", fieldError)
            try OutlierDetection.checkCount(requestVolume, "requestVolume", fieldError)
            self.threshold = threshold
            self.enforcementPercentage = enforcementPercentage
            self.minimumHosts = minimumHosts
            self.requestVolume = requestVolume
        }
    }
}
