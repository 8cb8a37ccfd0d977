import Logging
import Synchronization
import Tracing
import W3CTraceContext

/// A tracer for the examples: W3C trace context (`traceparent`, `tracestate`) in and out,
/// and each finished span written as one log line (name, kind, trace and span ids, its
/// parent, status and attributes). The cross-language tests read those lines;
/// `Examples/observability` shows a real exporter (swift-otel, OTLP).
public struct SpanLogTracer: Tracer {
    private let logger: Logger

    /// A tracer that logs each finished span to `logger` at info.
    public init(logger: Logger) {
        self.logger = logger
    }

    /// Starts a span: a child of the span (or remote parent) in `context`, else a new trace.
    public func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> ServiceContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> SpanLogSpan {
        var context = context()
        let parent = context.w3cTraceContext
        let own = TraceContext(
            traceID: parent?.traceID ?? .random(),
            spanID: .random(),
            flags: parent?.flags ?? .sampled,
            state: parent?.state ?? TraceState()
        )
        context.w3cTraceContext = own
        return SpanLogSpan(
            operationName: operationName, kind: kind, context: context, parentSpanID: parent?.spanID,
            logger: self.logger)
    }

    /// Nothing is buffered.
    public func forceFlush() {}

    /// Writes `traceparent` (and `tracestate`) of the span in `context`.
    public func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let traceContext = context.w3cTraceContext else { return }
        injector.inject(traceContext.traceParentHeaderValue, forKey: "traceparent", into: &carrier)
        if let state = traceContext.traceStateHeaderValue, !state.isEmpty {
            injector.inject(state, forKey: "tracestate", into: &carrier)
        }
    }

    /// Reads `traceparent` (and `tracestate`); a malformed one is ignored, as W3C asks.
    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let traceParent = extractor.extract(key: "traceparent", from: carrier) else { return }
        let traceState = extractor.extract(key: "tracestate", from: carrier)
        if let traceContext = try? TraceContext(traceParentHeaderValue: traceParent, traceStateHeaderValue: traceState)
        {
            context.w3cTraceContext = traceContext
        }
    }
}

/// A span of `SpanLogTracer`, logged when it ends.
public final class SpanLogSpan: Span {
    /// The span's context: its W3C trace context inside.
    public let context: ServiceContext
    /// What kind of span it is (server, client, ...).
    public let kind: SpanKind
    private let parentSpanID: SpanID?
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var operationName: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var events: [String] = []
        var errors: [String] = []
        var ended = false
    }

    init(operationName: String, kind: SpanKind, context: ServiceContext, parentSpanID: SpanID?, logger: Logger) {
        self.context = context
        self.kind = kind
        self.parentSpanID = parentSpanID
        self.logger = logger
        self.state = Mutex(State(operationName: operationName))
    }

    /// The span's name.
    public var operationName: String {
        get { self.state.withLock { $0.operationName } }
        set { self.state.withLock { $0.operationName = newValue } }
    }

    /// The span's attributes.
    public var attributes: SpanAttributes {
        get { self.state.withLock { $0.attributes } }
        set { self.state.withLock { $0.attributes = newValue } }
    }

    /// True until the span ends.
    public var isRecording: Bool { self.state.withLock { !$0.ended } }

    /// Sets the span's status.
    public func setStatus(_ status: SpanStatus) {
        self.state.withLock { $0.status = status }
    }

    /// Keeps the event's name, logged with the span.
    public func addEvent(_ event: SpanEvent) {
        self.state.withLock { $0.events.append(event.name) }
    }

    /// Keeps the error's description, logged with the span.
    public func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        self.state.withLock { $0.errors.append("\(error)") }
    }

    /// Links are not kept.
    public func addLink(_ link: SpanLink) {}

    /// Ends the span and logs it, once.
    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let ended: State? = self.state.withLock { state in
            guard !state.ended else { return nil }
            state.ended = true
            return state
        }
        guard let ended, let traceContext = self.context.w3cTraceContext else { return }
        var metadata: Logger.Metadata = [
            "span.name": "\(ended.operationName)",
            "span.kind": "\(self.kind)",
            "trace_id": "\(traceContext.traceID)",
            "span_id": "\(traceContext.spanID)",
            "parent_span_id": "\(self.parentSpanID.map { "\($0)" } ?? "")",
            "span.status": "\(ended.status.map { "\($0.code)" } ?? "unset")",
        ]
        // swift-format-ignore: ReplaceForEachWithForLoop
        // (SpanAttributes has forEach but is no Sequence.)
        ended.attributes.forEach { key, attribute in
            metadata["attr.\(key)"] = "\(SpanLogSpan.text(of: attribute))"
        }
        if !ended.events.isEmpty { metadata["span.events"] = "\(ended.events.count)" }
        if !ended.errors.isEmpty { metadata["span.errors"] = "\(ended.errors.joined(separator: "; "))" }
        self.logger.info("span ended", metadata: metadata)
    }
}

extension SpanLogSpan {
    /// An attribute's value as plain text: `grpc`, `0`, `true`.
    static func text(of attribute: SpanAttribute) -> String {
        switch attribute {
        case .string(let value): value
        case .int32(let value): "\(value)"
        case .int64(let value): "\(value)"
        case .double(let value): "\(value)"
        case .bool(let value): "\(value)"
        case .stringConvertible(let value): "\(value)"
        default: "\(attribute)"
        }
    }
}

/// The key of the W3C trace context in a `ServiceContext`.
private enum W3CTraceContextKey: ServiceContextKey {
    typealias Value = TraceContext
}

extension ServiceContext {
    /// The W3C trace context of the current span (or of the remote parent just extracted).
    public var w3cTraceContext: TraceContext? {
        get { self[W3CTraceContextKey.self] }
        set { self[W3CTraceContextKey.self] = newValue }
    }
}
