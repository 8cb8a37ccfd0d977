/// Per-call settings: how long to wait, what metadata to send, whether to wait for the
/// server to become reachable.
public struct CallOptions: Sendable {
    /// How long the call may take; sent to the server as `grpc-timeout`. When it runs
    /// out the call fails with DEADLINE_EXCEEDED on both sides.
    public var timeout: Duration?
    /// An absolute deadline; when both this and `timeout` are set, the earlier wins.
    public var deadline: ContinuousClock.Instant?
    /// Metadata sent with the request headers.
    public var metadata: Metadata
    /// When false (the default) a call fails fast with UNAVAILABLE while the server can't
    /// be reached; when true it waits for a connection until its deadline.
    public var waitForReady: Bool
    /// Largest response message accepted; nil means the channel's limit.
    public var maximumReceiveMessageSize: Int?
    /// How request messages are compressed (`grpc-encoding`). Responses are read in
    /// whatever supported encoding the server chooses.
    public var compression: CompressionAlgorithm
    /// Credentials for this call, instead of the channel's (`GRPCChannel.Configuration.credentials`).
    public var credentials: CallCredentials?

    /// Options for one call; every argument has the default of `CallOptions.defaults`.
    public init(
        timeout: Duration? = nil,
        deadline: ContinuousClock.Instant? = nil,
        metadata: Metadata = [:],
        waitForReady: Bool = false,
        maximumReceiveMessageSize: Int? = nil,
        compression: CompressionAlgorithm = .identity,
        credentials: CallCredentials? = nil
    ) {
        self.credentials = credentials
        self.compression = compression
        self.timeout = timeout
        self.deadline = deadline
        self.metadata = metadata
        self.waitForReady = waitForReady
        self.maximumReceiveMessageSize = maximumReceiveMessageSize
    }

    /// No timeout, no metadata, fail fast.
    public static var defaults: CallOptions { CallOptions() }

    /// These options with what a service config's method config adds: its timeout when
    /// shorter, and wait-for-ready when it says so. (Its message size limits are applied
    /// where messages are sent and received.)
    func applying(_ config: MethodConfig) -> CallOptions {
        var options = self
        if let timeout = config.timeout {
            options.timeout = min(options.timeout ?? timeout, timeout)
        }
        if config.waitForReady == true {
            options.waitForReady = true
        }
        return options
    }

    /// The effective deadline, from now.
    func effectiveDeadline(now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        let fromTimeout = self.timeout.map { now.advanced(by: $0) }
        switch (fromTimeout, self.deadline) {
        case (nil, nil): return nil
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (let a?, let b?): return min(a, b)
        }
    }
}
