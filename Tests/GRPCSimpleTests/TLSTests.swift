import Foundation
import InteropTesting
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import TestServices
import Testing

@testable import GRPCSimple

/// TLS and mutual TLS over real sockets, with certificates made by openssl at test time
/// (`TLSFixtures`).
@Suite struct TLSTests {
    @Test func unaryAndStreamingCallsWorkOverTLS() async throws {
        let certificates = try TLSFixtures.trusted
        try await withHarness(
            configuration: TLSFixtures.server(certificates),
            channelConfiguration: TLSFixtures.client(trusting: certificates)
        ) { harness in
            let reply = try await withTimeout { try await harness.echo.get(.with { $0.text = "over tls" }) }
            #expect(reply.text == "over tls")
            let words = try await withTimeout {
                var words: [String] = []
                for try await response in harness.echo.expand(.with { $0.text = "one two three" }) {
                    words.append(response.text)
                }
                return words
            }
            #expect(words == ["one", "two", "three"])
            let collected = try await withTimeout {
                try await harness.echo.collect { requests in
                    for word in ["a", "b", "c"] { try await requests.write(.with { $0.text = word }) }
                }
            }
            #expect(collected.text == "a b c")
            // Without mutual TLS the handler sees no client certificate.
            let peer = try await harness.echo.get(
                .with { $0.text = "" }, options: CallOptions(metadata: ["echo-peer-certificate": "1"]))
            #expect(peer.text == "none")
        }
    }

    /// The server picks `h2` by ALPN: a raw TLS client offering h2 and http/1.1 gets h2.
    @Test func alpnNegotiatesH2() async throws {
        let certificates = try TLSFixtures.trusted
        try await withHarness(configuration: TLSFixtures.server(certificates)) { harness in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(certificates.caCertificatePath)
            tls.applicationProtocols = ["http/1.1", "h2"]
            let context = try NIOSSLContext(configuration: tls)
            let negotiated = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: String?.self)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                        try channel.pipeline.syncOperations.addHandler(ALPNRecorder(negotiated: negotiated))
                    }
                }
                .connect(host: "127.0.0.1", port: harness.port).get()
            let timeout = channel.eventLoop.scheduleTask(in: .seconds(10)) {
                negotiated.fail(TimeoutError(seconds: 10))
            }
            let result = try await negotiated.futureResult.get()
            timeout.cancel()
            #expect(result == "h2")
            try? await channel.close()
        }
    }

    /// A client offering only http/1.1 (a browser's fetch without HTTP/2, curl --http1.1) gets
    /// it, and a Connect call over TLS and HTTP/1.1 is served.
    @Test func alpnHTTP1ServesConnectOverTLS() async throws {
        let certificates = try TLSFixtures.trusted
        try await withHarness(configuration: TLSFixtures.server(certificates)) { harness in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(certificates.caCertificatePath)
            tls.applicationProtocols = ["http/1.1"]
            let context = try NIOSSLContext(configuration: tls)
            let negotiated = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: String?.self)
            let received = NIOLockedValueBox<[UInt8]>([])
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                        try channel.pipeline.syncOperations.addHandler(
                            ALPNRecorder(negotiated: negotiated, received: received))
                    }
                }
                .connect(host: "127.0.0.1", port: harness.port).get()
            let timeout = channel.eventLoop.scheduleTask(in: .seconds(10)) {
                negotiated.fail(TimeoutError(seconds: 10))
            }
            let result = try await negotiated.futureResult.get()
            timeout.cancel()
            #expect(result == "http/1.1")
            let body = #"{"text":"over tls"}"#
            let request =
                "POST /grpcsimple.echo.Echo/Get HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
                + "content-length: \(body.utf8.count)\r\n\r\n\(body)"
            try await channel.writeAndFlush(ByteBuffer(string: request)).get()
            let answered = await eventually(within: .seconds(10)) {
                String(decoding: received.withLockedValue { $0 }, as: UTF8.self).hasSuffix(body)
            }
            let text = String(decoding: received.withLockedValue { $0 }, as: UTF8.self)
            #expect(answered, "\(text)")
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            try? await channel.close()
        }
    }

    @Test func clientRejectsAServerWhoseCertificateIsNotTrusted() async throws {
        try await withHarness(
            configuration: TLSFixtures.server(try TLSFixtures.untrusted),
            channelConfiguration: TLSFixtures.client(trusting: try TLSFixtures.trusted)
        ) { harness in
            let error = await expectRPCError {
                _ = try await withTimeout { try await harness.echo.get(.with { $0.text = "x" }) }
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("TLS handshake failed") == true, "\(String(describing: error))")
            #expect(error?.message.contains("certificate is not trusted") == true, "\(String(describing: error))")
        }
    }

    @Test func wrongServerNameFailsAndTheOverrideSucceeds() async throws {
        let certificates = try TLSFixtures.trusted
        try await withHarness(configuration: TLSFixtures.server(certificates)) { harness in
            let wrong = try GRPCChannel(
                host: "127.0.0.1",
                port: harness.port,
                configuration: TLSFixtures.client(trusting: certificates, serverName: "wrong.example.com")
            )
            let error = await expectRPCError {
                _ = try await withTimeout {
                    try await Grpcsimple_Echo_EchoClient(channel: wrong).get(.with { $0.text = "x" })
                }
            }
            await wrong.close()
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("TLS handshake failed") == true, "\(String(describing: error))")
            #expect(
                error?.message.contains("not valid for the name 'wrong.example.com'") == true,
                "\(String(describing: error))")

            let overridden = try GRPCChannel(
                host: "127.0.0.1",
                port: harness.port,
                configuration: TLSFixtures.client(
                    trusting: certificates, serverName: TestCertificates.interopServerName)
            )
            let reply = try await withTimeout {
                try await Grpcsimple_Echo_EchoClient(channel: overridden).get(.with { $0.text = "named" })
            }
            await overridden.close()
            #expect(reply.text == "named")
        }
    }

    @Test func mutualTLSRequiresAClientCertificateAndShowsItToHandlers() async throws {
        let certificates = try TLSFixtures.trusted
        try await withHarness(configuration: TLSFixtures.server(certificates, clientCertificates: .require)) {
            harness in
            // No client certificate: refused.
            let anonymous = try GRPCChannel(
                host: "127.0.0.1", port: harness.port, configuration: TLSFixtures.client(trusting: certificates))
            let error = await expectRPCError {
                _ = try await withTimeout {
                    try await Grpcsimple_Echo_EchoClient(channel: anonymous).get(.with { $0.text = "x" })
                }
            }
            await anonymous.close()
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            #expect(
                error?.message.contains("the server requires a client certificate") == true,
                "\(String(describing: error))")

            // A certificate from a CA the server does not trust: refused.
            let stranger = try GRPCChannel(
                host: "127.0.0.1",
                port: harness.port,
                configuration: TLSFixtures.client(trusting: certificates, clientCertificate: try TLSFixtures.untrusted)
            )
            let strangerError = await expectRPCError {
                _ = try await withTimeout {
                    try await Grpcsimple_Echo_EchoClient(channel: stranger).get(.with { $0.text = "x" })
                }
            }
            await stranger.close()
            #expect(strangerError?.code == .unavailable, "\(String(describing: strangerError))")
            #expect(
                strangerError?.message.contains("does not trust the CA of the client certificate") == true,
                "\(String(describing: strangerError))")

            // The trusted client certificate: served, and the handler sees who it is.
            let known = try GRPCChannel(
                host: "127.0.0.1",
                port: harness.port,
                configuration: TLSFixtures.client(trusting: certificates, clientCertificate: certificates)
            )
            let reply = try await withTimeout {
                try await Grpcsimple_Echo_EchoClient(channel: known).get(
                    .with { $0.text = "" },
                    options: CallOptions(metadata: ["echo-peer-certificate": "1"])
                )
            }
            await known.close()
            #expect(reply.text.contains("CN=\(TestCertificates.clientCommonName)"), "\(reply.text)")
            #expect(reply.text.contains("DNS: client.test"), "\(reply.text)")
            #expect(reply.text.contains("URI: spiffe://grpc-simple.test/client"), "\(reply.text)")
        }
    }

    @Test func optionalClientCertificatesServeBothKindsOfClient() async throws {
        let certificates = try TLSFixtures.trusted
        try await withHarness(configuration: TLSFixtures.server(certificates, clientCertificates: .optional)) {
            harness in
            let options = CallOptions(metadata: ["echo-peer-certificate": "1"])
            let anonymous = try GRPCChannel(
                host: "127.0.0.1", port: harness.port, configuration: TLSFixtures.client(trusting: certificates))
            let anonymousReply = try await withTimeout {
                try await Grpcsimple_Echo_EchoClient(channel: anonymous).get(.with { $0.text = "" }, options: options)
            }
            await anonymous.close()
            #expect(anonymousReply.text == "none")
            let known = try GRPCChannel(
                host: "127.0.0.1",
                port: harness.port,
                configuration: TLSFixtures.client(trusting: certificates, clientCertificate: certificates)
            )
            let knownReply = try await withTimeout {
                try await Grpcsimple_Echo_EchoClient(channel: known).get(.with { $0.text = "" }, options: options)
            }
            await known.close()
            #expect(
                knownReply.text.hasPrefix("subject: O=gRPC Simple tests, CN=\(TestCertificates.clientCommonName)"),
                "\(knownReply.text)")
        }
    }

    @Test func plaintextClientAgainstATLSServerFailsAndTheServerKeepsServing() async throws {
        let certificates = try TLSFixtures.trusted
        try await withHarness(
            configuration: TLSFixtures.server(certificates),
            channelConfiguration: TLSFixtures.client(trusting: certificates)
        ) { harness in
            let plaintext = try GRPCChannel(host: "127.0.0.1", port: harness.port)
            let error = await expectRPCError {
                _ = try await withTimeout {
                    try await Grpcsimple_Echo_EchoClient(channel: plaintext).get(.with { $0.text = "x" })
                }
            }
            await plaintext.close()
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            let reply = try await withTimeout { try await harness.echo.get(.with { $0.text = "still serving" }) }
            #expect(reply.text == "still serving")
        }
    }

    @Test func aTLSClientAgainstAPlaintextServerFailsClearly() async throws {
        try await withHarness(channelConfiguration: TLSFixtures.client(trusting: try TLSFixtures.trusted)) { harness in
            let error = await expectRPCError {
                _ = try await withTimeout { try await harness.echo.get(.with { $0.text = "x" }) }
            }
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            #expect(error?.message.contains("TLS handshake failed") == true, "\(String(describing: error))")
        }
    }

    /// `handshakeTimeout` covers the TLS handshake: a client that connects and says nothing,
    /// or starts a ClientHello and stops, is closed; a real TLS client is served afterwards.
    @Test func handshakeTimeoutClosesStalledTLSHandshakes() async throws {
        let certificates = try TLSFixtures.trusted
        var configuration = TLSFixtures.server(certificates)
        // Long enough for a real handshake on a loaded 2-core machine running every suite (1 s
        // was not, once), short enough for the silent clients below to be closed within 5 s.
        configuration.handshakeTimeout = .seconds(2)
        try await withHarness(
            configuration: configuration, channelConfiguration: TLSFixtures.client(trusting: certificates)
        ) { harness in
            #expect(
                try await HandshakeTimeoutTests.closedByServer(sending: [], toPort: harness.port, within: .seconds(5)))
            // A TLS record header announcing a 512-byte handshake message, and then nothing.
            let halfClientHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]
            #expect(
                try await HandshakeTimeoutTests.closedByServer(
                    sending: halfClientHello, toPort: harness.port, within: .seconds(5)))
            let reply = try await withTimeout { try await harness.echo.get(.with { $0.text = "served" }) }
            #expect(reply.text == "served")
        }
    }

    @Test func unreadableCertificatesFailAtStartWithTheirPath() async throws {
        var configuration = Server.Configuration()
        configuration.tls = ServerTLSConfiguration(
            certificateChain: .file(path: "/nonexistent/server.pem"),
            privateKey: .file(path: "/nonexistent/server.key")
        )
        let server = Server(services: [], configuration: configuration)
        let error = await expectRPCError { try await server.start(host: "127.0.0.1", port: 0) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("/nonexistent/server.pem") == true, "\(String(describing: error))")
        await server.shutdown()

        var channelConfiguration = GRPCChannel.Configuration()
        channelConfiguration.tls = ClientTLSConfiguration(trustRoots: .pem(.pem("not a certificate")))
        let channelError = await expectRPCError {
            _ = try GRPCChannel(host: "127.0.0.1", port: 1, configuration: channelConfiguration)
        }
        #expect(channelError?.code == .invalidArgument)
        #expect(channelError?.message.contains("the trust roots") == true, "\(String(describing: channelError))")

        var mutual = Server.Configuration()
        let certificates = try TLSFixtures.trusted
        mutual.tls = ServerTLSConfiguration(
            certificateChain: .pem(try String(contentsOfFile: certificates.serverCertificatePath, encoding: .utf8)),
            privateKey: .pem(try String(contentsOfFile: certificates.serverKeyPath, encoding: .utf8)),
            clientCertificates: .require
        )
        let mutualServer = Server(services: [], configuration: mutual)
        let mutualError = await expectRPCError { try await mutualServer.start(host: "127.0.0.1", port: 0) }
        #expect(mutualError?.code == .invalidArgument)
        #expect(
            mutualError?.message.contains("clientCertificateTrustRoots") == true, "\(String(describing: mutualError))")
        await mutualServer.shutdown()
    }

    /// In-memory PEM works as well as files, and the shared interop set is made once and
    /// then reused.
    @Test func inMemoryPEMAndTheSharedInteropCertificates() async throws {
        let shared = try TestCertificates.shared()
        #expect(try TestCertificates.shared().directory == shared.directory)
        let pem = { (path: String) in try String(contentsOfFile: path, encoding: .utf8) }
        var configuration = Server.Configuration()
        configuration.tls = ServerTLSConfiguration(
            certificateChain: .pem(try pem(shared.serverCertificatePath)),
            privateKey: .pem(try pem(shared.serverKeyPath))
        )
        var channelConfiguration = GRPCChannel.Configuration()
        channelConfiguration.tls = ClientTLSConfiguration(trustRoots: .pem(.pem(try pem(shared.caCertificatePath))))
        try await withHarness(configuration: configuration, channelConfiguration: channelConfiguration) { harness in
            let reply = try await withTimeout { try await harness.echo.get(.with { $0.text = "in memory" }) }
            #expect(reply.text == "in memory")
        }
    }
}

/// Completes `negotiated` with the ALPN protocol of the TLS handshake.
private final class ALPNRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let negotiated: EventLoopPromise<String?>
    /// Where the bytes read after the handshake go, if anywhere.
    let received: NIOLockedValueBox<[UInt8]>?

    init(negotiated: EventLoopPromise<String?>, received: NIOLockedValueBox<[UInt8]>? = nil) {
        self.negotiated = negotiated
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = self.unwrapInboundIn(data)
        self.received?.withLockedValue { $0 += bytes.readableBytesView }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiatedProtocol) = event {
            self.negotiated.succeed(negotiatedProtocol)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.negotiated.fail(error)
    }
}

/// The client's server-name rule, case by case.
@Suite struct ServerNameCheckTests {
    let dnsNames = ["localhost", "*.test.google.fr", "Exact.Example.COM"]
    let ipAddresses: [[UInt8]] = [[127, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]]

    func valid(_ name: String) -> Bool {
        ServerNameCheck.certificate(dnsNames: self.dnsNames, ipAddresses: self.ipAddresses, isValidFor: name)
    }

    @Test func exactNamesMatchIgnoringCaseAndATrailingDot() {
        #expect(self.valid("localhost"))
        #expect(self.valid("exact.example.com"))
        #expect(self.valid("EXACT.example.com."))
        #expect(!self.valid("example.com"))
        #expect(!self.valid("other.example.com"))
        #expect(!self.valid(""))
    }

    @Test func aWildcardCoversExactlyOneLeftmostLabel() {
        #expect(self.valid("foo.test.google.fr"))
        #expect(!self.valid("test.google.fr"))
        #expect(!self.valid("a.foo.test.google.fr"))
        #expect(!self.valid(".test.google.fr"))
        #expect(!ServerNameCheck.certificate(dnsNames: ["*.com"], ipAddresses: [], isValidFor: "example.com"))
    }

    @Test func ipAddressesMatchIPSANsOnly() {
        #expect(self.valid("127.0.0.1"))
        #expect(self.valid("::1"))
        #expect(self.valid("[::1]"))
        #expect(!self.valid("127.0.0.2"))
        // A DNS SAN spelled like an address does not count as an IP SAN.
        #expect(!ServerNameCheck.certificate(dnsNames: ["10.0.0.1"], ipAddresses: [], isValidFor: "10.0.0.1"))
    }
}

extension TLSTests {
    /// A TLS server that does not choose h2 by ALPN (here it offers only http/1.1) is
    /// refused: gRPC needs HTTP/2, and saying so beats a protocol error later.
    @Test func aServerThatDoesNotChooseH2IsRefused() async throws {
        let certificates = try TLSFixtures.trusted
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.serverCertificatePath).map {
                .certificate($0)
            },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.serverKeyPath, format: .pem))
        )
        tls.applicationProtocols = ["http/1.1"]
        let context = try NIOSSLContext(configuration: tls)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        let channel = try GRPCChannel(
            host: "127.0.0.1", port: port, configuration: TLSFixtures.client(trusting: certificates))
        let error = await expectRPCError {
            _ = try await withTimeout {
                try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "x" })
            }
        }
        await channel.close()
        try? await listener.close()
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(error?.message.contains("did not choose HTTP/2 by ALPN") == true, "\(String(describing: error))")
    }
}

extension TLSTests {
    /// A server that accepts the TCP connection and never answers the ClientHello: the
    /// channel gives up after its connect timeout and says the handshake did not finish.
    @Test func aServerThatStallsTheHandshakeTimesOut() async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        var configuration = TLSFixtures.client(trusting: try TLSFixtures.trusted)
        // Covers the TCP connect too: on a loaded machine the client's loop has taken over
        // 1 s to see the connect complete, and the call then failed with "failed to connect"
        // before the handshake could time out.
        configuration.backoff.minimumConnectTimeout = .seconds(4)
        let channel = try GRPCChannel(host: "127.0.0.1", port: port, configuration: configuration)
        let error = await expectRPCError {
            _ = try await withTimeout {
                try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "x" })
            }
        }
        await channel.close()
        try? await listener.close()
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(error?.message.contains("did not finish the TLS handshake") == true, "\(String(describing: error))")
    }
}
