import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Serves `GET /metrics` in the Prometheus text format (HTTP/1.1) from a swift-prometheus
/// registry, as a ServiceLifecycle service: it listens from `start` and closes on
/// graceful shutdown.
final class MetricsEndpoint: Service {
    private let listener: any Channel

    /// The port it listens on.
    var port: Int? { self.listener.localAddress?.port }

    private init(listener: any Channel) {
        self.listener = listener
    }

    /// Listens on `host:port` (port 0 picks one).
    static func start(host: String, port: Int, registry: PrometheusCollectorRegistry) async throws -> MetricsEndpoint {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(registry: registry))
                }
            }
            .bind(host: host, port: port)
            .get()
        return MetricsEndpoint(listener: listener)
    }

    func run() async throws {
        try? await gracefulShutdown()
        try? await self.listener.close()
    }
}

/// Answers one HTTP request at a time: `/metrics` with the registry's text, anything else 404.
private final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            let (status, body, contentType): (HTTPResponseStatus, [UInt8], String)
            if head.method == .GET && path == "/metrics" {
                (status, body, contentType) = (
                    .ok, Array(PrometheusSetup.withHelp(self.registry.emitToString()).utf8),
                    "text/plain; version=0.0.4; charset=utf-8"
                )
            } else {
                (status, body, contentType) = (.notFound, Array("not found: try GET /metrics\n".utf8), "text/plain")
            }
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: contentType)
            headers.add(name: "content-length", value: "\(body.count)")
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "connection", value: "close") }
            context.write(
                self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            let done = context.writeAndFlush(self.wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
                done.whenComplete { _ in loopBoundContext.value.close(promise: nil) }
            }
        }
    }
}
