import CoreMetrics
import Logging
import NIOCore
import Tracing

/// What a server records about its calls and connections, made once from its
/// `Observability` when anything is on (nil otherwise: the data path then checks one
/// optional and records nothing).
final class ServerObserver: Sendable {
    /// The instruments: one `MethodMetrics` per served method and one for `other`. A class,
    /// so that reaching one instrument does not copy the rest.
    final class Metrics: Sendable {
        let methods: [String: MethodMetrics]
        let other: MethodMetrics
        let openConnections: any MeterHandler
        let activeStreams: any MeterHandler

        init(methods: [MethodDescriptor], factory: any MetricsFactory) {
            var byPath: [String: MethodMetrics] = [:]
            for method in methods {
                byPath[method.path] = MethodMetrics(name: method.fullName, instruments: .server, factory: factory)
            }
            self.methods = byPath
            self.other = MethodMetrics(name: "other", instruments: .server, factory: factory)
            self.openConnections = factory.makeMeter(label: GRPCMetrics.serverOpenConnections.name, dimensions: [])
            self.activeStreams = factory.makeMeter(label: GRPCMetrics.serverActiveStreams.name, dimensions: [])
        }

        /// The instruments of the method at `path`; `other` for a path the server does not
        /// serve. The server looks each method up once, when it is made (`MethodHandler`).
        func method(path: String) -> MethodMetrics {
            self.methods[path] ?? self.other
        }
    }

    let metrics: Metrics?
    let tracer: (any Tracer)?
    /// Whether `tracer` is set: a flag the data path reads without copying the existential.
    private let isTracing: Bool
    let messageEvents: Bool
    let accessLog: Bool
    /// The server's logger, where the access log goes.
    let logger: Logger

    init?(_ observability: Observability, methods: [MethodDescriptor], logger: Logger) {
        guard observability.recordsCalls else { return nil }
        self.metrics = observability.activeMetrics.map { Metrics(methods: methods, factory: $0) }
        self.tracer = observability.activeTracer
        self.isTracing = self.tracer != nil
        self.messageEvents = observability.messageEvents
        self.accessLog = observability.accessLog
        self.logger = logger
    }

    /// A connection's addresses as span attributes: formatted once per connection, not
    /// per call.
    struct ConnectionAddresses: Sendable {
        var localIP: String?
        var localPort: Int?
        var remoteIP: String?
        var remotePort: Int?

        init(local: SocketAddress?, remote: SocketAddress?) {
            self.localIP = local?.ipAddress
            self.localPort = local?.port
            self.remoteIP = remote?.ipAddress
            self.remotePort = remote?.port
        }
    }

    /// A call to a served method begins (its headers were accepted, with `metadata`).
    /// `methodMetrics` are the method's instruments, from its `MethodHandler`.
    func callStarted(
        context: ServerContext,
        metadata: Metadata,
        methodMetrics: MethodMetrics?,
        addresses: @autoclosure () -> ConnectionAddresses
    ) -> ServerCallRecord {
        if let methodMetrics, let metrics = self.metrics {
            methodMetrics.started.increment(by: 1)
            metrics.activeStreams.increment(by: 1)
        }
        var span: (any Span)?
        if self.isTracing, let tracer = self.tracer {
            var parent = ServiceContext.current ?? .topLevel
            tracer.extract(metadata, into: &parent, using: MetadataExtractor())
            let started = tracer.startSpan(context.method.fullName, context: parent, ofKind: .server)
            let addresses = addresses()
            started.updateAttributes { attributes in
                attributes["rpc.system"] = "grpc"
                attributes["rpc.service"] = context.method.service
                attributes["rpc.method"] = context.method.name
                if let ip = addresses.localIP {
                    attributes["server.address"] = ip
                    if let port = addresses.localPort { attributes["server.port"] = port }
                }
                if let ip = addresses.remoteIP {
                    attributes["network.peer.address"] = ip
                    if let port = addresses.remotePort { attributes["network.peer.port"] = port }
                }
            }
            span = started
        }
        return ServerCallRecord(observer: self, method: self.metrics == nil ? nil : methodMetrics, span: span)
    }

    /// A call the server turned away before any handler (an unknown method or service, a
    /// bad content-type or encoding): counted under its method, `other` when unknown.
    func callRejected(path: String, status: Status, peer: String, metadata traceparent: String?) {
        if let metrics = self.metrics {
            let method = metrics.method(path: path)
            method.started.increment(by: 1)
            let ended = method.ended(status.code)
            ended.duration.recordNanoseconds(0)
            ended.sentSize.record(Int64(0))
            ended.receivedSize.record(Int64(0))
        }
        if self.accessLog {
            var logger = self.logger
            logger[metadataKey: "grpc.method"] = "\(path.hasPrefix("/") ? String(path.dropFirst()) : path)"
            logger[metadataKey: "grpc.peer"] = "\(peer)"
            if let traceparent, let traceID = TraceParent.traceID(of: traceparent) {
                logger[metadataKey: "trace_id"] = "\(traceID)"
            }
            logger.info(
                "call rejected",
                metadata: ["grpc.status": "\(status.code)", "duration_ms": "0.000", "bytes_in": "0", "bytes_out": "0"]
            )
        }
    }
}
