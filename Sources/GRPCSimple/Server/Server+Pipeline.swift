import GRPCSimpleHTTP2
import NIOCore
import NIOPosix
import NIOSSL

/// How the server's listener and each accepted connection are set up: the channel pipeline
/// `[NIOSSLServerHandler →] ServerConnectionHandler`, which runs the server's own HTTP/2
/// transport (`GRPCSimpleHTTP2`) on the connection's bytes.
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
        let handler = self.makeConnectionHandler(
            configuration: configuration, router: router, executor: executor, allocator: channel.allocator)
        let sync = channel.pipeline.syncOperations
        if let tlsContext {
            // TLS first: HTTP/2 reads and writes the decrypted bytes. The handshake timer of
            // `handler` runs from now, so a client that stalls the TLS handshake is closed too.
            let tls = NIOSSLServerHandler(context: tlsContext)
            try sync.addHandler(tls)
            handler.peerCertificateLookup = { tls.peerCertificate.map(PeerCertificate.init) }
        }
        try sync.addHandler(handler)

        let id = ObjectIdentifier(channel)
        let bound = NIOLoopBound<any ServerConnectionControl>(handler, eventLoop: channel.eventLoop)
        guard self.connections.add(bound, id: id) else {
            channel.close(promise: nil)
            return
        }
        let connections = self.connections
        channel.closeFuture.whenComplete { _ in
            connections.remove(id: id)
        }
    }

    /// The handler of one accepted connection, before TLS: everything the server does on a
    /// connection's bytes (the fuzz target of the server connection drives it alone).
    func makeConnectionHandler(
        configuration: Configuration,
        router: Router,
        executor: EventLoopTaskExecutor,
        allocator: ByteBufferAllocator
    ) -> ServerConnectionHandler<HTTP2ServerConnection> {
        var http2 = HTTP2ServerConfiguration()
        http2.maxConcurrentStreams = configuration.maximumConcurrentStreams
        http2.maxHeaderListSize = configuration.maximumHeaderListSize
        http2.initialWindowSize = configuration.streamWindowSize
        http2.connectionWindowSize = configuration.connectionWindowSize
        // A call's back-pressure bounds what a streaming handler holds back, and the maximum
        // message size what a unary one does: the transport takes whatever they write.
        http2.maxBufferedOutputPerStream = .max
        return ServerConnectionHandler(
            configuration: .init(
                router: router,
                maximumReceiveMessageSize: configuration.maximumReceiveMessageSize,
                streamWindowSize: configuration.streamWindowSize,
                connection: configuration.connectionStateMachine(),
                logger: configuration.logger,
                observer: self.observer,
                cors: configuration.cors
            ),
            transport: HTTP2ServerConnection(configuration: http2, allocator: allocator),
            executor: executor,
            allocator: allocator
        )
    }
}
