import CoreMetrics
import Logging
import Synchronization
import Tracing

/// What a channel records about its calls, made once from its `Observability` when
/// anything is on (nil otherwise: a call then checks one optional and records nothing).
final class ClientObserver: Sendable {
    let tracer: (any Tracer)?
    let messageEvents: Bool
    let accessLog: Bool
    /// The channel's logger, where the access log goes.
    let logger: Logger
    /// `grpc.target`: `dns:///host:port` or `unix:/path`.
    let target: String
    private let serverAddress: String
    private let serverPort: Int?
    private let factory: (any MetricsFactory)?
    /// A client may call any method, so each one's instruments are made on its first call.
    private let methods = Mutex<[String: MethodMetrics]>([:])

    init?(_ observability: Observability, target: ChannelTarget, canonicalTarget: String, logger: Logger) {
        guard observability.recordsCalls else { return nil }
        self.factory = observability.activeMetrics
        self.tracer = observability.activeTracer
        self.messageEvents = observability.messageEvents
        self.accessLog = observability.accessLog
        self.logger = logger
        self.target = canonicalTarget
        switch target.scheme {
        case "dns", "ipv4", "ipv6":
            let first = target.endpoint.split(separator: ",").first ?? ""
            let hostAndPort = ChannelTarget.splitHostPort(first, defaultPort: 443)
            self.serverAddress = hostAndPort?.host ?? String(first)
            self.serverPort = hostAndPort?.port
        default:
            self.serverAddress = target.endpoint
            self.serverPort = nil
        }
    }

    private func metrics(for method: MethodDescriptor) -> MethodMetrics? {
        guard let factory = self.factory else { return nil }
        return self.methods.withLock { methods in
            if let metrics = methods[method.path] { return metrics }
            let metrics = MethodMetrics(
                name: method.fullName, extraDimensions: [("grpc.target", self.target)], instruments: .client,
                factory: factory)
            methods[method.path] = metrics
            return metrics
        }
    }

    /// A call is made (in the caller's task): starts its span, a child of the caller's
    /// `ServiceContext.current`, and writes the span's context into `metadata`.
    func callStarted(_ method: MethodDescriptor, metadata: inout Metadata) -> ClientCallRecord {
        var span: (any Span)?
        if let tracer = self.tracer {
            let parent = ServiceContext.current ?? .topLevel
            let started = tracer.startSpan(method.fullName, context: parent, ofKind: .client)
            started.updateAttributes { attributes in
                attributes["rpc.system"] = "grpc"
                attributes["rpc.service"] = method.service
                attributes["rpc.method"] = method.name
                attributes["server.address"] = self.serverAddress
                if let port = self.serverPort { attributes["server.port"] = port }
            }
            tracer.inject(started.context, into: &metadata, using: MetadataInjector())
            span = started
        }
        return ClientCallRecord(observer: self, method: method, metrics: self.metrics(for: method), span: span)
    }
}
