import GRPCSimple
import NIOCore
import NIOHTTP2
import NIOPosix
import TestServices
import Testing

/// A client's bytes never take the server down: after each kind of garbage, other
/// clients are still served.
@Suite struct HostileInputTests {
    /// Opens a plain TCP connection, writes `bytes`, and closes it after a moment.
    static func send(_ bytes: [UInt8], toPort port: Int) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
        try await Task.sleep(for: .milliseconds(50))
        try? await channel.close()
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    @Test func garbageInsteadOfThePreface() async throws {
        try await withHarness { harness in
            var generator = SystemRandomNumberGenerator()
            for length in [1, 24, 100, 4096] {
                let garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                try await Self.send(garbage, toPort: harness.port)
            }
            try await Self.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), toPort: harness.port)
            #expect(try await harness.echo.get(.with { $0.text = "still here" }).text == "still here")
        }
    }

    @Test func garbageFramesAfterThePreface() async throws {
        try await withHarness { harness in
            // A SETTINGS frame claiming a huge length, a HEADERS frame with a broken HPACK
            // block, a DATA frame on stream 0, and a frame of an unknown type.
            let frames: [[UInt8]] = [
                [0xFF, 0xFF, 0xFF, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00],
                [0x00, 0x00, 0x04, 0x01, 0x05, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF],
                [0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
                [0x00, 0x00, 0x01, 0xEE, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00],
            ]
            for frame in frames {
                try await Self.send(Self.preface + frame, toPort: harness.port)
            }
            #expect(try await harness.echo.get(.with { $0.text = "still here" }).text == "still here")
        }
    }

    @Test func requestWithAMessageClaimingFourGigabytes() async throws {
        try await withHarness { harness in
            let raw = try await RawHTTP2Client.connect(port: harness.port)
            try await raw.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Collect"))
            try await raw.sendData(stream: 1, [0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3])
            let response = try await raw.response(stream: 1)
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "8")
            await raw.close()
            #expect(try await harness.echo.get(.with { $0.text = "still here" }).text == "still here")
        }
    }

    @Test func invalidBinaryMetadataIsRejected() async throws {
        try await withHarness { harness in
            let raw = try await RawHTTP2Client.connect(port: harness.port)
            let headers = RawHTTP2Client.requestHeaders(
                path: "/grpcsimple.echo.Echo/Get", [("x-data-bin", "not base64!")])
            try await raw.sendHeaders(stream: 1, headers, endStream: true)
            let block = try #require(try await raw.response(stream: 1).headerBlocks.first)
            #expect(block.first(name: "grpc-status") == "13")
            #expect(block.first(name: "grpc-message")?.contains("x-data-bin") == true)
            await raw.close()
        }
    }

    @Test func requestStreamEndingInsideAMessage() async throws {
        try await withHarness { harness in
            let raw = try await RawHTTP2Client.connect(port: harness.port)
            try await raw.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Collect"))
            try await raw.sendData(stream: 1, [0, 0, 0, 0, 10, 1, 2], endStream: true)
            let response = try await raw.response(stream: 1)
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "13")
            await raw.close()
        }
    }
}

/// Floods NIOHTTP2 limits for us (its defaults): the attacking connection gets GOAWAY
/// ENHANCE_YOUR_CALM and is closed, while the server goes on serving everyone else.
@Suite struct FloodTests {
    @Test func rapidResetClosesTheAttackersConnectionOnly() async throws {
        try await withHarness { harness in
            let attacker = try await RawHTTP2Client.connect(port: harness.port)
            var frames: [HTTP2Frame] = []
            for index in 0..<400 {
                let id = HTTP2StreamID(1 + 2 * index)
                frames.append(
                    HTTP2Frame(
                        streamID: id,
                        payload: .headers(
                            .init(headers: RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Get")))))
                frames.append(HTTP2Frame(streamID: id, payload: .rstStream(.cancel)))
            }
            try await attacker.send(frames)
            let goAway = try await attacker.goAway()
            #expect(goAway?.errorCode == .enhanceYourCalm)
            #expect(await attacker.closed())
            await attacker.close()
            let reply = try await harness.echo.get(.with { $0.text = "still serving" })
            #expect(reply.text == "still serving")
        }
    }

    @Test func pingFloodClosesTheAttackersConnectionOnly() async throws {
        // A ping policy that allows any rate, so that NIOHTTP2's control-frame limit is
        // the one crossed (KeepaliveTests has our policy's GOAWAY "too_many_pings").
        var configuration = Server.Configuration()
        configuration.keepalive.minimumPingInterval = .zero
        configuration.keepalive.permitPingsWithoutCalls = true
        try await withHarness(configuration: configuration) { harness in
            let attacker = try await RawHTTP2Client.connect(port: harness.port)
            let pings = (0..<1000).map { _ in
                HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(), ack: false))
            }
            try await attacker.send(pings)
            let goAway = try await attacker.goAway()
            #expect(goAway?.errorCode == .enhanceYourCalm)
            #expect(goAway?.debugData != "too_many_pings")
            #expect(await attacker.closed())
            await attacker.close()
            let reply = try await harness.echo.get(.with { $0.text = "still serving" })
            #expect(reply.text == "still serving")
        }
    }
}

/// A connection that never completes its HTTP/2 handshake is closed after
/// `handshakeTimeout`, so silent connections cannot pile up; a real client is unaffected.
@Suite struct HandshakeTimeoutTests {
    static func closedByServer(sending bytes: [UInt8], toPort port: Int, within timeout: Duration) async throws -> Bool
    {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        if !bytes.isEmpty {
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
        }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline, channel.isActive {
            try await Task.sleep(for: .milliseconds(10))
        }
        let closed = !channel.isActive
        try? await channel.close()
        return closed
    }

    @Test func silentAndHalfHandshakesAreClosedAndRealClientsAreNot() async throws {
        var configuration = Server.Configuration()
        configuration.handshakeTimeout = .seconds(1)
        try await withHarness(configuration: configuration) { harness in
            #expect(try await Self.closedByServer(sending: [], toPort: harness.port, within: .seconds(5)))
            let halfPreface = Array("PRI * HTTP/2.0\r\n".utf8)
            #expect(try await Self.closedByServer(sending: halfPreface, toPort: harness.port, within: .seconds(5)))
            // A client that did its handshake keeps its connection past the timeout. Its own
            // event loop, so that the whole suite's work on the shared loops cannot hold its
            // preface back past the timeout; the PING's answer proves the server read it.
            let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let raw = try await RawHTTP2Client.connect(port: harness.port, group: loop)
            try await raw.send([HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(), ack: false))])
            let answered = await raw.waitUntil { frames in
                frames.contains { if case .ping(_, ack: true) = $0 { true } else { false } }
            }
            #expect(answered, "the server did not answer a PING after the preface")
            try await Task.sleep(for: .milliseconds(1500))
            #expect(!(await raw.closed(within: .zero)), "the server closed a connection that had done its handshake")
            try await raw.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Get"))
            try await raw.sendData(stream: 1, RawHTTP2Client.message([0x0A, 5] + Array("later".utf8)), endStream: true)
            #expect(try await raw.response(stream: 1).headerBlocks.last?.first(name: "grpc-status") == "0")
            await raw.close()
            try await loop.shutdownGracefully()
        }
    }
}

extension FloodTests {
    /// A header block past SETTINGS_MAX_HEADER_LIST_SIZE never reaches a handler: the
    /// connection is closed, and the server goes on serving other clients.
    @Test func headerListPastTheLimitIsRejected() async throws {
        var configuration = Server.Configuration()
        configuration.maximumHeaderListSize = 4 * 1024
        try await withHarness(configuration: configuration) { harness in
            let attacker = try await RawHTTP2Client.connect(port: harness.port)
            let huge = String(repeating: "x", count: 16 * 1024)
            try await attacker.sendHeaders(
                stream: 1, RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Get", [("x-huge", huge)]))
            try await attacker.sendData(stream: 1, RawHTTP2Client.message([0x0A, 1, 0x41]), endStream: true)
            // NIOHTTP2 treats it as a connection error (PROTOCOL_ERROR or, when its HPACK
            // decoder hits the limit first, COMPRESSION_ERROR): GOAWAY, then close.
            let code = try await attacker.goAway()?.errorCode
            #expect(code == .protocolError || code == .compressionError, "GOAWAY \(String(describing: code))")
            #expect(await attacker.closed())
            await attacker.close()
            let reply = try await harness.echo.get(.with { $0.text = "still serving" })
            #expect(reply.text == "still serving")
        }
    }
}
