import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens the connections of a channel's subchannels: TCP or a Unix socket, then TLS when
/// configured, then HTTP/2 with `ClientConnectionHandler` on top. One per channel; every
/// subchannel shares its settings and TLS context.
struct SubchannelConnector {
    let configuration: GRPCChannel.Configuration
    let eventLoop: any EventLoop
    /// Built once from `configuration.tls` (nil: plaintext).
    let tlsContext: NIOSSLContext?
    /// The `:authority` of every request.
    let authority: String
    /// The name TLS checks the server's certificate against (and sends as SNI unless it is
    /// an IP address).
    let tlsHostName: String
    /// The channel's target, for messages.
    let targetDescription: String

    /// What a TLS connection attempt needs: the shared context, and the promise the
    /// handshake completes.
    private struct TLSSetup {
        var context: NIOSSLContext
        var handshakeDone: EventLoopPromise<Void>
        var timeout: TimeAmount
    }

    /// Connects to `address`; the future succeeds once the connection can carry calls
    /// (with TLS, once the handshake is done) and fails with what went wrong. Completes on
    /// the channel's event loop.
    func connect(to address: ServerAddress, keepalive: GRPCChannel.Keepalive?) -> EventLoopFuture<any Channel> {
        let connectTimeout = self.configuration.backoff.minimumConnectTimeout.timeAmount
        let tls = self.tlsContext.map { context in
            TLSSetup(context: context, handshakeDone: self.eventLoop.makePromise(), timeout: connectTimeout)
        }
        let connector = self
        var bootstrap = ClientBootstrap(group: self.eventLoop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try connector.configure(channel, address: address, keepalive: keepalive, tls: tls)
                }
            }
        var future: EventLoopFuture<any Channel>
        switch address {
        case .socket(let socketAddress):
            if socketAddress.protocol != .unix {
                bootstrap = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1)
            }
            future = bootstrap.connect(to: socketAddress)
        case .unixAbstract(let name):
            do {
                future = bootstrap.withConnectedSocket(try Self.connectAbstractSocket(name))
            } catch {
                future = self.eventLoop.makeFailedFuture(error)
            }
        }
        if let handshakeDone = tls?.handshakeDone {
            future = future.flatMap { channel in
                handshakeDone.futureResult.map { channel }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
            future.whenFailure { handshakeDone.fail($0) }  // TCP failed: the handshake never started.
        }
        return future.hop(to: self.eventLoop)
    }

    private func configure(
        _ channel: any Channel,
        address: ServerAddress,
        keepalive: GRPCChannel.Keepalive?,
        tls: TLSSetup?
    ) throws {
        var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        connectionConfiguration.initialSettings = [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .maxHeaderListSize, value: self.configuration.maximumHeaderListSize),
            HTTP2Setting(parameter: .initialWindowSize, value: self.configuration.streamWindowSize),
        ]
        // As on the server (`Server.configure`): NIOHTTP2's control-frame limit counts every
        // PING, and grpc-go's server pings once per round trip while our requests' DATA
        // arrives (its bandwidth probe), so it is off and `ClientConnectionHandler` applies
        // the same limit (`ControlFrameLimit`) to the other control frames and to the PINGs
        // that follow nothing we sent.
        connectionConfiguration.controlFrameRateLimit.windowLength = .zero
        connectionConfiguration.controlFrameRateLimit.maximumCount = 64
        var streamConfiguration = NIOHTTP2Handler.StreamConfiguration()
        streamConfiguration.targetWindowSize = self.configuration.streamWindowSize
        let sync = channel.pipeline.syncOperations
        if let tls, let tlsConfiguration = self.configuration.tls {
            try sync.addHandler(
                NIOSSLClientHandler(
                    context: tls.context,
                    serverHostname: tlsConfiguration.sniName(connectingTo: self.tlsHostName)
                )
            )
            try sync.addHandler(
                TLSHandshakeObserver(
                    handshakeDone: tls.handshakeDone,
                    timeout: tls.timeout,
                    serverName: tlsConfiguration.verifiesServerCertificate
                        ? tlsConfiguration.serverName ?? self.tlsHostName : nil
                )
            )
        }
        try sync.addHandler(
            NIOHTTP2Handler(
                mode: .client,
                connectionConfiguration: connectionConfiguration,
                streamConfiguration: streamConfiguration
            )
        )
        try sync.addHandler(
            ClientConnectionHandler(
                eventLoop: channel.eventLoop,
                authority: self.authority,
                scheme: tls == nil ? "http" : "https",
                target: "\(self.targetDescription) (\(address))",
                connectionWindowSize: self.configuration.connectionWindowSize,
                keepalive: keepalive
            )
        )
    }

    /// A socket connected to `name` in Linux's abstract namespace, addressed by the name's
    /// exact length (as grpc-go and the C-core address it; NIO's `SocketAddress` would pad
    /// it with NULs to the whole `sun_path`).
    static func connectAbstractSocket(_ name: String) throws -> NIOBSDSocket.Handle {
        #if os(Linux)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [UInt8(0)] + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            path.copyBytes(from: bytes.prefix(path.count))
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, length) }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw IOError(errnoCode: code, reason: "connect")
        }
        return descriptor
        #else
        throw RPCError(.unavailable, "abstract Unix sockets exist on Linux only")
        #endif
    }
}
