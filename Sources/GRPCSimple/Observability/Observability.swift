import CoreMetrics
import Tracing

/// What a server or channel records about its calls: gRFC A66 metrics, spans with W3C
/// trace context, and an access log. Everything is off by default.
///
/// One value configures either side (`Server.Configuration.observability`,
/// `GRPCChannel.Configuration.observability`):
///
/// ```swift
/// MetricsSystem.bootstrap(PrometheusMetricsFactory())      // your backends, once
/// InstrumentationSystem.bootstrap(otelTracer)
///
/// var configuration = Server.Configuration()
/// configuration.observability = .bootstrapped              // both of them
/// configuration.observability.accessLog = true             // and a log line per call
/// ```
///
/// It is a field of the configuration rather than an interceptor because it needs what
/// interceptors do not see (the compressed bytes on the wire, calls to unknown methods,
/// connections) and because off must cost nothing: with every field off, a call carries
/// no record and pays one nil check where it starts and ends.
public struct Observability: Sendable {
    /// Where gRFC A66's metrics go (see `GRPCMetrics` for their names, units and
    /// buckets), or nil for none. `MetricsSystem.factory` is the backend the process
    /// bootstrapped; tests pass their own.
    public var metrics: (any MetricsFactory)?
    /// Makes a span per call (OpenTelemetry's RPC conventions) and carries the trace
    /// context in the call's metadata with the tracer's own propagation (W3C
    /// `traceparent` / `tracestate` for OpenTelemetry tracers), or nil for none.
    /// `InstrumentationSystem.tracer` is the one the process bootstrapped.
    public var tracer: (any Tracer)?
    /// Adds an event to the call's span for every message sent and received (type, id,
    /// compressed size). Off by default: streaming calls can have many.
    public var messageEvents: Bool
    /// Logs one line per call at info, when it ends: method, peer, status, duration and
    /// the bytes of messages in and out (never their contents), with the call's trace id
    /// when the caller sent one. The server and the channel log with their `logger`.
    public var accessLog: Bool

    /// - Parameters:
    ///   - metrics: Where metrics go; nil for none.
    ///   - tracer: The tracer of call spans; nil for none.
    ///   - messageEvents: Whether spans get an event per message.
    ///   - accessLog: Whether each call logs a line when it ends.
    public init(
        metrics: (any MetricsFactory)? = nil,
        tracer: (any Tracer)? = nil,
        messageEvents: Bool = false,
        accessLog: Bool = false
    ) {
        self.metrics = metrics
        self.tracer = tracer
        self.messageEvents = messageEvents
        self.accessLog = accessLog
    }

    /// Nothing recorded: the default.
    public static var off: Observability { Observability() }

    /// Metrics to `MetricsSystem.factory` and spans to `InstrumentationSystem.tracer`: the
    /// backends the process bootstrapped (read when you take this value, so bootstrap
    /// them first).
    public static var bootstrapped: Observability {
        Observability(metrics: MetricsSystem.factory, tracer: InstrumentationSystem.tracer)
    }

    /// The metrics backend, unless it is absent or swift-metrics' no-op one.
    var activeMetrics: (any MetricsFactory)? {
        guard let metrics = self.metrics, !(metrics is NOOPMetricsHandler) else { return nil }
        return metrics
    }

    /// The tracer, unless it is absent or a no-op one (whose spans would cost for nothing).
    var activeTracer: (any Tracer)? {
        guard let tracer = self.tracer, !(tracer is NoOpTracer) else { return nil }
        return tracer
    }

    /// Whether a call has anything to record.
    var recordsCalls: Bool {
        self.activeMetrics != nil || self.activeTracer != nil || self.accessLog
    }
}
