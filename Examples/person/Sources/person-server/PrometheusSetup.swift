import GRPCSimple
import Prometheus

/// A swift-prometheus backend for gRPC Simple's metrics: A66's names in Prometheus form
/// (`grpc_server_call_duration_seconds`, attributes as `grpc_method`), and A66's buckets.
enum PrometheusSetup {
    static func factory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        let names = Dictionary(uniqueKeysWithValues: GRPCMetrics.all.map { ($0.name, $0.prometheusName) })
        for instrument in GRPCMetrics.all {
            switch instrument.kind {
            case .durationHistogram:
                factory.durationHistogramBuckets[instrument.prometheusName] = GRPCMetrics.latencyBuckets.map {
                    .nanoseconds(Int64(($0 * 1e9).rounded()))
                }
            case .sizeHistogram:
                factory.valueHistogramBuckets[instrument.prometheusName] = GRPCMetrics.sizeBuckets
            case .counter, .gauge:
                break
            }
        }
        factory.nameAndLabelSanitizer = { name, labels in
            (
                names[name] ?? GRPCMetrics.prometheusLabel(name),
                labels.map { (GRPCMetrics.prometheusLabel($0.0), $0.1) }
            )
        }
        return factory
    }

    /// The registry's text with a `# HELP` line before each gRPC metric's `# TYPE` line
    /// (swift-metrics has no help text to pass on; promtool asks for one).
    static func withHelp(_ text: String) -> String {
        let help = Dictionary(uniqueKeysWithValues: GRPCMetrics.all.map { ($0.prometheusName, $0.help) })
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst("# TYPE ".count).split(separator: " ").first,
                let text = help[String(name)]
            {
                lines.append("# HELP \(name) \(text)")
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
