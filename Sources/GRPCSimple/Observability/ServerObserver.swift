import CoreMetrics
import Logging
import NIOCore
import Tracing

/// What a server records about its calls and connections, made once from its
/// `Observability` when anything is on (nil otherwise: the data path then checks one
/// optional and records nothing).
final class ServerObserver: Sendable {
    /// The instruments: one `MethodMetrics` per served method and one for `other`.
    struct Metrics: Sendable {
        let methods: [String: MethodMetrics]
        let other: MethodMetrics
        let openConnections: Meter
        let activeStreams: Meter

        func method(path: String) -> MethodMetrics {
            self.methods[path] ?? self.other
        }
    }

    let metrics: Metrics?
    let tracer: (any Tracer)?
    let messageEvents: Bool
    let accessLog: Bool
    /// The server's logger, where the access log goes.
    let logger: Logger

    init?(_ observability: Observability, methods: [MethodDescriptor], logger: Logger) {
        guard observability.recordsCalls else { return nil }
        self.metrics = observability.activeMetrics.map { factory in
            var byPath: [String: MethodMetrics] = [:]
            for method in methods {
                byPath[method.path] = MethodMetrics(name: method.fullName, instruments: .server, factory: factory)
            }
            return Metrics(
                methods: byPath,
                other: MethodMetrics(name: "other", instruments: .server, factory: factory),
                openConnections: Meter(label: GRPCMetrics.serverOpenConnections.name, factory: factory),
                activeStreams: Meter(label: GRPCMetrics.serverActiveStreams.name, factory: factory)
            )
        }
        self.tracer = observability.activeTracer
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
    func callStarted(
        context: ServerContext,
        metadata: Metadata,
        addresses: @autoclosure () -> ConnectionAddresses
    ) -> ServerCallRecord {
        let methodMetrics = self.metrics.map { metrics in
            let method = metrics.method(path: context.method.path)
            method.started.increment()
            metrics.activeStreams.increment()
            return method
        }
        var span: (any Span)?
        if let tracer = self.tracer {
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
        return ServerCallRecord(observer: self, method: methodMetrics, span: span)
    }

    /// A call the server turned away before any handler (an unknown method or service, a
    /// bad content-type or encoding): counted under its method, `other` when unknown.
    func callRejected(path: String, status: Status, peer: String, metadata traceparent: String?) {
        if let metrics = self.metrics {
            let method = metrics.method(path: path)
            method.started.increment()
            let ended = method.ended(status.code)
            ended.duration.recordNanoseconds(0)
            ended.sentSize.record(0)
            ended.receivedSize.record(0)
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
