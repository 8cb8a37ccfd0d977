/// The metrics gRPC Simple records when `Observability.metrics` is set: gRFC A66's
/// per-call instruments on both sides, with its names, units, attributes and buckets, and
/// two server gauges beyond A66.
///
/// swift-metrics has no notion of buckets, so configure your backend with these, e.g. for
/// swift-prometheus:
///
/// ```swift
/// var factory = PrometheusMetricsFactory()
/// for instrument in GRPCMetrics.all {
///     if instrument.kind == .durationHistogram {
///         factory.durationHistogramBuckets[instrument.name] = GRPCMetrics.latencyBuckets.map { .seconds($0) }
///     } else if instrument.kind == .sizeHistogram {
///         factory.valueHistogramBuckets[instrument.name] = GRPCMetrics.sizeBuckets
///     }
/// }
/// ```
///
/// Attributes: `grpc.method` is the full method name without its leading slash
/// (`AsillaService/getInfor`), `other` on the server for methods it does not serve;
/// `grpc.status` is the status code's name (`OK`, `UNAVAILABLE`); `grpc.target` is the
/// channel's target (`dns:///127.0.0.1:50051`, `unix:/tmp/x.sock`). Message sizes are
/// the bytes of each message as sent (compressed, if it was), without the 5-byte gRPC
/// prefix, summed over the call. Durations on the client count transparent retries as
/// part of the one attempt.
public enum GRPCMetrics {
    /// `grpc.server.call.started`: calls the server received (`grpc.method`).
    public static let serverCallStarted = MetricInstrument(
        "grpc.server.call.started", unit: "{call}", kind: .counter, attributes: ["grpc.method"],
        help: "The total number of RPCs started, including those that have not completed.")
    /// `grpc.server.call.duration`: from the request headers to the status sent
    /// (`grpc.method`, `grpc.status`).
    public static let serverCallDuration = MetricInstrument(
        "grpc.server.call.duration", unit: "s", kind: .durationHistogram, attributes: ["grpc.method", "grpc.status"],
        help: "End-to-end time taken to complete a call from the server transport's perspective.")
    /// `grpc.server.call.sent_total_compressed_message_size`: response bytes per call.
    public static let serverCallSentSize = MetricInstrument(
        "grpc.server.call.sent_total_compressed_message_size", unit: "By", kind: .sizeHistogram,
        attributes: ["grpc.method", "grpc.status"], help: "Compressed message bytes sent per server call.")
    /// `grpc.server.call.rcvd_total_compressed_message_size`: request bytes per call.
    public static let serverCallReceivedSize = MetricInstrument(
        "grpc.server.call.rcvd_total_compressed_message_size", unit: "By", kind: .sizeHistogram,
        attributes: ["grpc.method", "grpc.status"], help: "Compressed message bytes received per server call.")
    /// `grpc.server.open_connections` (beyond A66): client connections open now.
    public static let serverOpenConnections = MetricInstrument(
        "grpc.server.open_connections", unit: "{connection}", kind: .gauge, attributes: [],
        help: "Client connections the server has open.")
    /// `grpc.server.active_streams` (beyond A66): calls in progress now.
    public static let serverActiveStreams = MetricInstrument(
        "grpc.server.active_streams", unit: "{stream}", kind: .gauge, attributes: [],
        help: "Calls the server is serving now.")

    /// `grpc.client.attempt.started`: attempts the channel started (`grpc.method`,
    /// `grpc.target`).
    public static let clientAttemptStarted = MetricInstrument(
        "grpc.client.attempt.started", unit: "{attempt}", kind: .counter, attributes: ["grpc.method", "grpc.target"],
        help: "The total number of RPC attempts started, including those that have not completed.")
    /// `grpc.client.attempt.duration`: from handing the call to a connection to its status
    /// (`grpc.method`, `grpc.target`, `grpc.status`).
    public static let clientAttemptDuration = MetricInstrument(
        "grpc.client.attempt.duration", unit: "s", kind: .durationHistogram,
        attributes: ["grpc.method", "grpc.target", "grpc.status"],
        help: "End-to-end time taken to complete an RPC attempt, including the time to pick a connection.")
    /// `grpc.client.attempt.sent_total_compressed_message_size`: request bytes per attempt.
    public static let clientAttemptSentSize = MetricInstrument(
        "grpc.client.attempt.sent_total_compressed_message_size", unit: "By", kind: .sizeHistogram,
        attributes: ["grpc.method", "grpc.target", "grpc.status"],
        help: "Compressed message bytes sent per client call attempt.")
    /// `grpc.client.attempt.rcvd_total_compressed_message_size`: response bytes per attempt.
    public static let clientAttemptReceivedSize = MetricInstrument(
        "grpc.client.attempt.rcvd_total_compressed_message_size", unit: "By", kind: .sizeHistogram,
        attributes: ["grpc.method", "grpc.target", "grpc.status"],
        help: "Compressed message bytes received per call attempt.")
    /// `grpc.client.call.duration`: from the call made to its status, as the caller sees it
    /// (interceptors and credentials included).
    public static let clientCallDuration = MetricInstrument(
        "grpc.client.call.duration", unit: "s", kind: .durationHistogram,
        attributes: ["grpc.method", "grpc.target", "grpc.status"],
        help: "Time taken by gRPC to complete an RPC from the application's perspective.")

    /// Every instrument, server first.
    public static let all: [MetricInstrument] = [
        serverCallStarted, serverCallDuration, serverCallSentSize, serverCallReceivedSize,
        serverOpenConnections, serverActiveStreams,
        clientAttemptStarted, clientAttemptDuration, clientAttemptSentSize, clientAttemptReceivedSize,
        clientCallDuration,
    ]

    /// A66's latency buckets, in seconds.
    public static let latencyBuckets: [Double] = [
        0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01,
        0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65,
        0.8, 1, 2, 5, 10, 20, 50, 100,
    ]

    /// A66's size buckets, in bytes.
    public static let sizeBuckets: [Double] = [
        0, 1024, 2048, 4096, 16384, 65536, 262144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456,
        1_073_741_824, 4_294_967_296,
    ]

    /// A name or attribute in Prometheus form: every character outside `[a-zA-Z0-9_]`
    /// becomes `_` (`grpc.method` → `grpc_method`).
    public static func prometheusLabel(_ name: String) -> String {
        let bytes = name.utf8.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                byte
            default:
                UInt8(ascii: "_")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
