import Instrumentation

/// Reads trace context (`traceparent`, `tracestate`, or whatever the tracer propagates)
/// out of a request's metadata, for the tracer's `extract`.
struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: Metadata) -> String? {
        carrier[key]
    }
}

/// Writes trace context into a request's metadata, for the tracer's `inject`.
struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout Metadata) {
        carrier.replace(key, value)
    }
}
