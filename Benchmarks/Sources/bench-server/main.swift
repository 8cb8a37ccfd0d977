// bench-server: gRPC Simple serving the seed's AsillaService and StreamBench.Echo for the
// benchmarks (the services are in Sources/SimpleBenchService; peer-server serves the same
// with grpc-swift-2).
//
//   bench-server --port P [--threads T] [--metrics] [--tracing]
//
// Listens on 127.0.0.1 only; `--port 0` binds a free port, printed as
// `listening on 127.0.0.1:PORT`. `--threads` is the number of event-loop threads (default 1).
// HTTP/2 settings as peer-server's: 100 concurrent streams, 16 KiB header lists, 1 MiB stream
// window. Stop it with a signal. `--metrics` records gRFC A66 metrics into swift-prometheus
// (as person-server does), `--tracing` makes a span per call with `CountingTracer`: what
// scripts/bench's `observability` section compares with the server with both off.
import CoreMetrics
import GRPCSimple
import Prometheus
import SimpleBenchService

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func usage(_ message: String) -> Never {
    let text = "bench-server: \(message)\nusage: bench-server --port P [--threads T] [--metrics] [--tracing]\n"
    _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(2)
}

var port: Int?
var threads = 1
var metrics = false
var tracing = false
var backendCost = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--port":
        guard let value = arguments.popFirst(), let parsed = Int(value), (0...65535).contains(parsed)
        else { usage("--port needs a number in 0...65535") }
        port = parsed
    case "--threads":
        guard let value = arguments.popFirst(), let parsed = Int(value), parsed >= 1
        else { usage("--threads needs a positive number") }
        threads = parsed
    case "--metrics":
        metrics = true
    case "--tracing":
        tracing = true
    case "--backend-cost":
        backendCost = true
    case "-h", "--help":
        print("usage: bench-server --port P [--threads T] [--metrics] [--tracing]")
        exit(0)
    default:
        usage("unknown argument '\(argument)'")
    }
}
if backendCost {
    // What one unary call's metrics cost swift-prometheus alone: the records a call makes
    // (the started counter, the active-streams gauge up and down, the duration and two
    // size histograms, through swift-metrics), a million times, in nanoseconds per call.
    let factory = makePrometheusFactory(registry: PrometheusCollectorRegistry())
    let method = [("grpc.method", "AsillaService/getInfor")]
    let ended = method + [("grpc.status", "OK")]
    let started = Counter(label: GRPCMetrics.serverCallStarted.name, dimensions: method, factory: factory)
    let streams = Meter(label: GRPCMetrics.serverActiveStreams.name, factory: factory)
    let duration = Timer(label: GRPCMetrics.serverCallDuration.name, dimensions: ended, factory: factory)
    let sent = Recorder(label: GRPCMetrics.serverCallSentSize.name, dimensions: ended, factory: factory)
    let received = Recorder(label: GRPCMetrics.serverCallReceivedSize.name, dimensions: ended, factory: factory)
    let calls = 1_000_000
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        for call in 0..<calls {
            started.increment()
            streams.increment()
            duration.recordNanoseconds(Int64(20_000 + call % 1000))
            sent.record(12)
            received.record(7)
            streams.decrement()
        }
    }
    let (seconds, attoseconds) = elapsed.components
    let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    print("{\"backend_ns_per_call\": \(nanoseconds / Double(calls))}")
    exit(0)
}
guard let port else { usage("--port is required") }

var configuration = Server.Configuration()
configuration.maximumConcurrentStreams = 100
configuration.maximumHeaderListSize = 16 * 1024
configuration.streamWindowSize = 1 << 20
let registry = PrometheusCollectorRegistry()
if metrics {
    configuration.observability.metrics = makePrometheusFactory(registry: registry)
}
if tracing {
    configuration.observability.tracer = CountingTracer()
}

let server = Server(
    services: [BenchAsillaService(), BenchStreamService()],
    workers: threads,
    configuration: configuration
)
do {
    try await server.start(host: "127.0.0.1", port: port)
} catch {
    usage("cannot listen on 127.0.0.1:\(port): \(error)")
}
print("listening on 127.0.0.1:\(server.port ?? port)")
fflush(nil)  // flushes stdout (the `stdout` global is not concurrency-safe in Swift 6)
await server.waitForTermination()

/// As person-server's: A66's names in Prometheus form, and its buckets.
func makePrometheusFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
    var factory = PrometheusMetricsFactory(registry: registry)
    let names = Dictionary(uniqueKeysWithValues: GRPCMetrics.all.map { ($0.name, $0.prometheusName) })
    factory.nameAndLabelSanitizer = { name, labels in
        (names[name] ?? GRPCMetrics.prometheusLabel(name), labels.map { (GRPCMetrics.prometheusLabel($0.0), $0.1) })
    }
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
    return factory
}
