import ArgumentParser
import GRPCHealth
import GRPCSimple
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// A server and a client in one process, their traces, metrics and logs exported over
/// OTLP/HTTP by swift-otel. The client calls the server's health check `--calls` times
/// inside one span of its own, then everything shuts down gracefully and the exporters
/// flush.
///
/// The endpoint comes from `--otlp-endpoint` or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`
/// (`/v1/traces`, `/v1/metrics` and `/v1/logs` are appended).
@main
struct ObservabilityExample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "observability-example",
        abstract: "gRPC Simple with swift-otel: traces, metrics and logs over OTLP/HTTP."
    )

    @Option(help: "The OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318 (default: OTEL_EXPORTER_OTLP_ENDPOINT).")
    var otlpEndpoint: String?

    @Option(help: "How many calls the client makes.")
    var calls = 3

    func run() async throws {
        guard self.calls > 0 else { throw ValidationError("--calls must be at least 1") }
        // 1. swift-otel bootstraps swift-log, swift-metrics and swift-distributed-tracing
        //    with OTLP exporters; gRPC Simple only speaks those APIs.
        var otel = OTel.Configuration.default
        otel.serviceName = "grpc-simple-observability-example"
        otel.traces.otlpExporter.protocol = .httpProtobuf
        otel.metrics.otlpExporter.protocol = .httpProtobuf
        otel.logs.otlpExporter.protocol = .httpProtobuf
        if let endpoint = self.otlpEndpoint {
            otel.traces.otlpExporter.endpoint = endpoint + "/v1/traces"
            otel.metrics.otlpExporter.endpoint = endpoint + "/v1/metrics"
            otel.logs.otlpExporter.endpoint = endpoint + "/v1/logs"
        }
        otel.metrics.exportInterval = .seconds(1)
        otel.traces.batchSpanProcessor.scheduleDelay = .milliseconds(200)
        otel.logs.batchLogRecordProcessor.scheduleDelay = .milliseconds(200)
        // gRFC A66's histogram buckets.
        for instrument in GRPCMetrics.all {
            switch instrument.kind {
            case .durationHistogram:
                otel.metrics.durationHistogramBuckets[instrument.name] = GRPCMetrics.latencyBuckets.map {
                    .nanoseconds(Int64(($0 * 1e9).rounded()))
                }
            case .sizeHistogram:
                otel.metrics.valueHistogramBuckets[instrument.name] = GRPCMetrics.sizeBuckets
            case .counter, .gauge:
                break
            }
        }
        let exporters = try OTel.bootstrap(configuration: otel)

        // 2. The server and the channel record into the bootstrapped backends.
        var serverConfiguration = Server.Configuration()
        serverConfiguration.observability = .bootstrapped
        serverConfiguration.observability.accessLog = true
        serverConfiguration.logger = Logger(label: "example.server")
        let health = HealthService()
        let server = Server(services: [health], configuration: serverConfiguration)
        try await server.start(host: "127.0.0.1", port: 0)

        var channelConfiguration = GRPCChannel.Configuration()
        channelConfiguration.observability = .bootstrapped
        channelConfiguration.logger = Logger(label: "example.client")
        let channel = try GRPCChannel(host: "127.0.0.1", port: server.port!, configuration: channelConfiguration)

        // 3. One ServiceGroup runs it all; the workload ends it, and the exporters, shut
        //    down last, flush what is left.
        let workload = Workload(channel: channel, calls: self.calls)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: exporters),
                    .init(service: server),
                    .init(service: channel),
                    .init(service: workload, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "example.lifecycle")
            ))
        try await group.run()
        print("done: \(self.calls) calls exported")
    }
}

/// The client side: `calls` health checks inside one span.
struct Workload: Service {
    let channel: GRPCChannel
    let calls: Int

    func run() async throws {
        let client = Grpc_Health_V1_HealthClient(channel: self.channel)
        let logger = Logger(label: "example.workload")
        try await withSpan("workload") { _ in
            for _ in 0..<self.calls {
                let response = try await client.check(.init())
                logger.info("health checked", metadata: ["status": "\(response.status)"])
            }
        }
    }
}
