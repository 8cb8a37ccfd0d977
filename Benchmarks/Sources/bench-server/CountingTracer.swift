import Synchronization
import Tracing

/// The tracer of `bench-server --tracing`: spans that do what an SDK's do before export
/// (random ids, a parent, attributes and status kept under a lock, a count of ended spans)
/// and export nothing, so the benchmark measures gRPC Simple's part of a traced call.
struct CountingTracer: Tracer {
    private static let ended = Atomic<Int>(0)

    func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> ServiceContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> CountingSpan {
        var context = context()
        let parent = context[CountingSpan.IDKey.self]
        let id = CountingSpan.ID(trace: parent?.trace ?? .random(in: 1...UInt64.max), span: .random(in: 1...UInt64.max))
        context[CountingSpan.IDKey.self] = id
        return CountingSpan(name: operationName, context: context, parent: parent?.span) {
            Self.ended.add(1, ordering: .relaxed)
        }
    }

    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let id = context[CountingSpan.IDKey.self] else { return }
        injector.inject("\(id.trace)-\(id.span)", forKey: "x-counting-trace", into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: "x-counting-trace", from: carrier) else { return }
        let parts = value.split(separator: "-")
        guard parts.count == 2, let trace = UInt64(parts[0]), let span = UInt64(parts[1]) else { return }
        context[CountingSpan.IDKey.self] = CountingSpan.ID(trace: trace, span: span)
    }
}

/// A span of `CountingTracer`.
final class CountingSpan: Span {
    struct ID: Sendable {
        var trace: UInt64
        var span: UInt64
    }

    enum IDKey: ServiceContextKey {
        typealias Value = ID
    }

    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var events: [SpanEvent] = []
        var ended = false
    }

    let context: ServiceContext
    let parent: UInt64?
    private let state: Mutex<State>
    private let onEnd: @Sendable () -> Void

    init(name: String, context: ServiceContext, parent: UInt64?, onEnd: @escaping @Sendable () -> Void) {
        self.context = context
        self.parent = parent
        self.state = Mutex(State(name: name))
        self.onEnd = onEnd
    }

    var operationName: String {
        get { self.state.withLock { $0.name } }
        set { self.state.withLock { $0.name = newValue } }
    }

    var attributes: SpanAttributes {
        get { self.state.withLock { $0.attributes } }
        set { self.state.withLock { $0.attributes = newValue } }
    }

    var isRecording: Bool { self.state.withLock { !$0.ended } }

    func setStatus(_ status: SpanStatus) { self.state.withLock { $0.status = status } }

    func addEvent(_ event: SpanEvent) { self.state.withLock { $0.events.append(event) } }

    func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        self.addEvent(SpanEvent(name: "exception", attributes: attributes))
    }

    func addLink(_ link: SpanLink) {}

    func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let first = self.state.withLock { state in
            defer { state.ended = true }
            return !state.ended
        }
        if first { self.onEnd() }
    }
}
