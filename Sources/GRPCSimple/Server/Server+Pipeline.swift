import GRPCSimpleHTTP1
import GRPCSimpleHTTP2
import NIOCore
import NIOPosix
import NIOSSL

/// How the server's listener and each accepted connection are set up: the channel pipeline
/// `[NIOSSLServerHandler →] HTTPVersionDetector`, which the first bytes replace with a
/// `ServerConnectionHandler` running the server's own HTTP/2 transport (`GRPCSimpleHTTP2`)
/// or its HTTP/1.1 transport (`GRPCSimpleHTTP1`) on the connection's bytes.
extension Server {
    /// The handler of an HTTP/2 connection (named here so that code outside the library's
    /// targets, such as the fuzz targets, need not import the transport).
    typealias HTTP2ConnectionHandler = ServerConnectionHandler<HTTP2ServerConnection>

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
        let sync = channel.pipeline.syncOperations
        var peerCertificateLookup: (() -> PeerCertificate?)?
        if let tlsContext {
            // TLS first: HTTP reads and writes the decrypted bytes. The detector's timeout runs
            // from now, so a client that stalls the TLS handshake is closed too.
            let tls = NIOSSLServerHandler(context: tlsContext)
            try sync.addHandler(tls)
            peerCertificateLookup = { tls.peerCertificate.map(PeerCertificate.init) }
        }
        let connections = self.connections
        let detector = HTTPVersionDetector(timeout: configuration.handshakeTimeout.timeAmount) { version, context in
            let channel = context.channel
            func add<Transport>(_ handler: ServerConnectionHandler<Transport>) throws {
                handler.peerCertificateLookup = peerCertificateLookup
                try channel.pipeline.syncOperations.addHandler(handler, position: .after(context.handler))
                let id = ObjectIdentifier(channel)
                guard connections.add(NIOLoopBound(handler, eventLoop: channel.eventLoop), id: id) else {
                    channel.close(promise: nil)
                    return
                }
                channel.closeFuture.whenComplete { _ in connections.remove(id: id) }
            }
            switch version {
            case .http2:
                try add(
                    self.makeConnectionHandler(
                        configuration: configuration, router: router, executor: executor, allocator: channel.allocator))
            case .http1:
                try add(
                    self.makeHTTP1ConnectionHandler(
                        configuration: configuration, router: router, executor: executor, allocator: channel.allocator))
            }
        }
        try sync.addHandler(detector)
    }

    /// The handler of one accepted connection, before TLS: everything the server does on a
    /// connection's bytes (the fuzz target of the server connection drives it alone).
    func makeConnectionHandler(
        configuration: Configuration,
        router: Router,
        executor: EventLoopTaskExecutor,
        allocator: ByteBufferAllocator
    ) -> HTTP2ConnectionHandler {
        var http2 = HTTP2ServerConfiguration()
        http2.maxConcurrentStreams = configuration.maximumConcurrentStreams
        http2.maxHeaderListSize = configuration.maximumHeaderListSize
        http2.initialWindowSize = configuration.streamWindowSize
        http2.connectionWindowSize = configuration.connectionWindowSize
        // A call's back-pressure bounds what a streaming handler holds back, and the maximum
        // message size what a unary one does: the transport takes whatever they write.
        http2.maxBufferedOutputPerStream = .max
        return ServerConnectionHandler(
            configuration: self.connectionConfiguration(configuration, router: router),
            transport: HTTP2ServerConnection(configuration: http2, allocator: allocator),
            executor: executor,
            allocator: allocator
        )
    }

    /// The handler of a connection that speaks HTTP/1.1 (gRPC-Web and Connect from browsers
    /// and HTTP/1.1 clients): the same calls on `HTTP1ServerConnection`, without keepalive
    /// PINGs, which HTTP/1.1 does not have.
    func makeHTTP1ConnectionHandler(
        configuration: Configuration,
        router: Router,
        executor: EventLoopTaskExecutor,
        allocator: ByteBufferAllocator
    ) -> ServerConnectionHandler<HTTP1ServerConnection> {
        var http1 = HTTP1ServerConfiguration()
        http1.maxHeaderSectionSize = configuration.maximumHeaderListSize
        var connection = self.connectionConfiguration(configuration, router: router)
        connection.connection.keepalive = nil
        connection.connection.pingPolicy = nil
        return ServerConnectionHandler(
            configuration: connection,
            transport: HTTP1ServerConnection(configuration: http1, allocator: allocator),
            executor: executor,
            allocator: allocator
        )
    }

    private func connectionConfiguration(_ configuration: Configuration, router: Router)
        -> ServerConnectionConfiguration
    {
        ServerConnectionConfiguration(
            router: router,
            maximumReceiveMessageSize: configuration.maximumReceiveMessageSize,
            streamWindowSize: configuration.streamWindowSize,
            connection: configuration.connectionStateMachine(),
            logger: configuration.logger,
            observer: self.observer,
            cors: configuration.cors
        )
    }
}
