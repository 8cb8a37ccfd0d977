/// One metric gRPC Simple records: its name, unit and kind as gRFC A66 defines them, so a
/// backend can be set up for it (histogram buckets, Prometheus names).
public struct MetricInstrument: Sendable, Hashable, CustomStringConvertible {
    /// How the instrument is recorded through swift-metrics.
    public enum Kind: Sendable, Hashable {
        /// A `Counter`: a count that only grows.
        case counter
        /// A `Timer`: a histogram of durations, in seconds (`GRPCMetrics.latencyBuckets`).
        case durationHistogram
        /// A `Recorder` that aggregates: a histogram of sizes in bytes
        /// (`GRPCMetrics.sizeBuckets`).
        case sizeHistogram
        /// A `Meter`: a value that goes up and down.
        case gauge
    }

    /// The name, e.g. `grpc.server.call.duration`.
    public let name: String
    /// The unit in UCUM form, as A66 writes it: `s`, `By`, `{call}`.
    public let unit: String
    /// How it is recorded.
    public let kind: Kind
    /// The attributes (swift-metrics dimensions) it carries, e.g. `grpc.method`.
    public let attributes: [String]
    /// What it measures, in a sentence (Prometheus' `# HELP`, OpenTelemetry's description).
    public let help: String

    init(_ name: String, unit: String, kind: Kind, attributes: [String], help: String) {
        self.name = name
        self.unit = unit
        self.kind = kind
        self.attributes = attributes
        self.help = help
    }

    /// The histogram's bucket boundaries (seconds or bytes); nil for counters and gauges.
    public var buckets: [Double]? {
        switch self.kind {
        case .durationHistogram: GRPCMetrics.latencyBuckets
        case .sizeHistogram: GRPCMetrics.sizeBuckets
        case .counter, .gauge: nil
        }
    }

    /// The name in Prometheus form, as OpenTelemetry's Prometheus exporter writes it: dots
    /// become underscores, the unit is appended (`_seconds`, `_bytes`) and counters end in
    /// `_total`, e.g. `grpc_server_call_duration_seconds`.
    public var prometheusName: String {
        var name = GRPCMetrics.prometheusLabel(self.name)
        switch self.unit {
        case "s": name += "_seconds"
        case "By": name += "_bytes"
        default: break
        }
        if self.kind == .counter { name += "_total" }
        return name
    }

    /// The name.
    public var description: String { self.name }
}
