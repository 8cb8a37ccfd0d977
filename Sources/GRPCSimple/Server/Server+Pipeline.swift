import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL

/// How the server's listener and each accepted connection are set up: the channel pipeline
/// `[NIOSSLServerHandler →] NIOHTTP2Handler → ServerConnectionHandler`.
extension Server {
    func makeBootstrap(
        group: MultiThreadedEventLoopGroup,
        executors: [ObjectIdentifier: EventLoopTaskExecutor],
        tlsContext: NIOSSLContext?
    ) -> ServerBootstrap {
        let configuration = self.configuration
        let router = self.router
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let executor =
                        executors[ObjectIdentifier(channel.eventLoop)]
                        ?? EventLoopTaskExecutor(eventLoop: channel.eventLoop, budget: nil)
                    try self.configure(
                        channel, router: router, configuration: configuration, executor: executor,
                        tlsContext: tlsContext)
                }
            }
    }

    private func configure(
        _ channel: any Channel,
        router: Router,
        configuration: Configuration,
        executor: EventLoopTaskExecutor,
        tlsContext: NIOSSLContext?
    ) throws {
        var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        connectionConfiguration.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: configuration.maximumConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: configuration.maximumHeaderListSize),
            HTTP2Setting(parameter: .initialWindowSize, value: configuration.streamWindowSize),
        ]
        // NIOHTTP2's control-frame limit (200 PING, SETTINGS, PRIORITY, ALTSVC or ORIGIN
        // frames per 30 s) counts every PING, so it cut off grpc-go's and C-core's clients,
        // whose bandwidth probe pings once per round trip while DATA flows. It is turned
        // off here (a window of zero length: no two frames fall in it) and
        // `ServerConnectionHandler` applies the same limit itself (`ControlFrameLimit`),
        // with the PINGs that follow a response left to the ping policy, as grpc-go does.
        connectionConfiguration.controlFrameRateLimit.windowLength = .zero
        connectionConfiguration.controlFrameRateLimit.maximumCount = 64
        var streamConfiguration = NIOHTTP2Handler.StreamConfiguration()
        streamConfiguration.targetWindowSize = configuration.streamWindowSize
        let http2 = NIOHTTP2Handler(
            mode: .server,
            connectionConfiguration: connectionConfiguration,
            streamConfiguration: streamConfiguration
        )
        let handler = ServerConnectionHandler(
            configuration: .init(
                router: router,
                maximumReceiveMessageSize: configuration.maximumReceiveMessageSize,
                streamWindowSize: configuration.streamWindowSize,
                connectionWindowSize: configuration.connectionWindowSize,
                connection: configuration.connectionStateMachine(),
                logger: configuration.logger,
                observer: self.observer
            ),
            executor: executor
        )
        let sync = channel.pipeline.syncOperations
        if let tlsContext {
            // TLS first: HTTP/2 reads and writes the decrypted bytes. The handshake timer of
            // `handler` runs from now, so a client that stalls the TLS handshake is closed too.
            let tls = NIOSSLServerHandler(context: tlsContext)
            try sync.addHandler(tls)
            handler.peerCertificateLookup = { tls.peerCertificate.map(PeerCertificate.init) }
        }
        try sync.addHandler(http2)
        try sync.addHandler(handler)

        let id = ObjectIdentifier(channel)
        let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        guard self.connections.add(bound, id: id) else {
            channel.close(promise: nil)
            return
        }
        let connections = self.connections
        channel.closeFuture.whenComplete { _ in
            connections.remove(id: id)
        }
    }
}
