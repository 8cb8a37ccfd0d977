import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2
import NIOPosix
import TestServices
import Testing

@testable import GRPCSimple

/// The ping policy and keepalive decisions, each rule on its own.
@Suite struct KeepaliveStateMachineTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func pingsAtTheMinimumIntervalAreAllowed() {
        var policy = ServerPingPolicy(minimumInterval: .seconds(1), permitWithoutCalls: false)
        for index in 0..<10 {
            #expect(policy.pingReceived(at: Self.start + .seconds(Int64(index)), hasActiveCalls: true) == .allow)
        }
        #expect(policy.strikes == 0)
    }

    @Test func twoEarlyPingsAreForgivenAndTheThirdIsTooMany() {
        var policy = ServerPingPolicy(minimumInterval: .seconds(1), permitWithoutCalls: false)
        #expect(policy.pingReceived(at: Self.start, hasActiveCalls: true) == .allow)
        #expect(policy.pingReceived(at: Self.start + .milliseconds(100), hasActiveCalls: true) == .strike)
        #expect(policy.pingReceived(at: Self.start + .milliseconds(200), hasActiveCalls: true) == .strike)
        // A ping on time does not clear strikes.
        #expect(policy.pingReceived(at: Self.start + .seconds(2), hasActiveCalls: true) == .allow)
        #expect(policy.pingReceived(at: Self.start + .milliseconds(2100), hasActiveCalls: true) == .tooManyPings)
    }

    @Test func aResponseSentClearsTheStrikes() {
        var policy = ServerPingPolicy(minimumInterval: .seconds(1), permitWithoutCalls: false)
        var now = Self.start
        #expect(policy.pingReceived(at: now, hasActiveCalls: true) == .allow)
        for _ in 0..<2 {
            now = now + .milliseconds(10)
            #expect(policy.pingReceived(at: now, hasActiveCalls: true) == .strike)
        }
        policy.responseSent()
        now = now + .milliseconds(10)
        #expect(policy.pingReceived(at: now, hasActiveCalls: true) == .allow)
        #expect(policy.strikes == 0)
        now = now + .milliseconds(10)
        #expect(policy.pingReceived(at: now, hasActiveCalls: true) == .strike)
    }

    @Test func withoutCallsPingsMustBeTwoHoursApartUnlessPermitted() {
        var strict = ServerPingPolicy(minimumInterval: .seconds(1), permitWithoutCalls: false)
        var permissive = ServerPingPolicy(minimumInterval: .seconds(1), permitWithoutCalls: true)
        #expect(strict.pingReceived(at: Self.start, hasActiveCalls: false) == .allow)
        #expect(permissive.pingReceived(at: Self.start, hasActiveCalls: false) == .allow)
        let tenMinutesLater = Self.start + .minutes(10)
        #expect(strict.pingReceived(at: tenMinutesLater, hasActiveCalls: false) == .strike)
        #expect(permissive.pingReceived(at: tenMinutesLater, hasActiveCalls: false) == .allow)
        #expect(strict.pingReceived(at: tenMinutesLater + .hours(2), hasActiveCalls: false) == .allow)
    }

    @Test func keepalivePingsOnlyAfterSilence() {
        var keepalive = KeepaliveStateMachine(permitWithoutCalls: false)
        keepalive.frameReceived()
        #expect(keepalive.timeElapsed(hasActiveCalls: true) == .waitAgain)
        #expect(keepalive.timeElapsed(hasActiveCalls: true) == .sendPing)
        #expect(keepalive.isAwaitingAck)
        keepalive.frameReceived()  // the ack frame
        keepalive.ackReceived()
        // The ack does not count as activity: the next silent period pings again.
        #expect(keepalive.timeElapsed(hasActiveCalls: true) == .sendPing)
    }

    @Test func keepaliveTimeoutClosesOnlyASilentConnection() {
        var keepalive = KeepaliveStateMachine(permitWithoutCalls: false)
        #expect(keepalive.timeElapsed(hasActiveCalls: true) == .sendPing)
        // Data came, the ack did not (yet): the peer is alive.
        keepalive.frameReceived()
        #expect(keepalive.timeoutElapsed() == false)
        #expect(keepalive.timeElapsed(hasActiveCalls: true) == .sendPing)
        #expect(keepalive.timeoutElapsed() == true)
    }

    @Test func keepalivePausesWithoutCallsUnlessPermitted() {
        var strict = KeepaliveStateMachine(permitWithoutCalls: false)
        var permissive = KeepaliveStateMachine(permitWithoutCalls: true)
        #expect(strict.timeElapsed(hasActiveCalls: false) == .pause)
        #expect(permissive.timeElapsed(hasActiveCalls: false) == .sendPing)
    }
}

/// Keepalive over real sockets: the server's ping policy against a raw client and our
/// own, client keepalive against a server that stopped answering, and the server's
/// maximum connection idle time and age.
@Suite struct KeepaliveTests {
    static func ping(_ value: UInt64) -> HTTP2Frame {
        HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: value), ack: false))
    }

    @Test func aClientPingingTooOftenGetsTooManyPingsAndOthersAreServed() async throws {
        // Defaults: 5 minutes between pings with calls, 2 hours without.
        try await withHarness { harness in
            let attacker = try await RawHTTP2Client.connect(port: harness.port)
            // The first ping is free and two early ones are forgiven; an empty SETTINGS
            // after them is acked only once the server has judged all three.
            try await attacker.send([
                Self.ping(1), Self.ping(2), Self.ping(3),
                HTTP2Frame(streamID: .rootStream, payload: .settings(.settings([]))),
            ])
            let settingsAcked = await attacker.waitUntil { frames in
                frames.filter { if case .settings(.ack) = $0 { return true } else { return false } }.count >= 2
            }
            #expect(settingsAcked)
            #expect(try await attacker.goAway(timeout: .zero) == nil, "GOAWAY before the third early ping")
            try await attacker.send([Self.ping(4)])
            let goAway = try await attacker.goAway()
            #expect(goAway?.errorCode == .enhanceYourCalm)
            #expect(goAway?.debugData == "too_many_pings")
            #expect(await attacker.closed())
            await attacker.close()
            #expect(try await harness.echo.get(.with { $0.text = "still serving" }).text == "still serving")
        }
    }

    @Test func aClientThatPingsWhenDataArrivesKeepsItsConnection() async throws {
        // grpc-go's and C-core's clients probe bandwidth with a PING each time DATA arrives
        // (one PING outstanding at a time). Each round sends a request and a PING in one
        // write, so the server reads them in one burst and judges the PING while the
        // response still waits to be flushed; the response goes out after the PING's ack,
        // and the client pings again once it has it. Every PING follows a response the
        // server wrote after the previous PING: none is a strike, whatever the 5 minutes.
        try await withHarness { harness in
            let client = try await RawHTTP2Client.connect(port: harness.port)
            for round in 0..<4 {
                let streamNumber = 1 + 2 * round
                let stream = HTTP2StreamID(streamNumber)
                let request = ByteBuffer(bytes: RawHTTP2Client.message([]))
                try await client.send([
                    HTTP2Frame(
                        streamID: stream,
                        payload: .headers(
                            .init(headers: RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Get")))),
                    HTTP2Frame(streamID: stream, payload: .data(.init(data: .byteBuffer(request), endStream: true))),
                    Self.ping(UInt64(100 + round)),
                ])
                let response = try await client.response(stream: streamNumber)
                #expect(response.headerBlocks.last?.first(name: "grpc-status") == "0", "round \(round)")
                try await client.send([Self.ping(UInt64(200 + round))])
                let acked = await client.waitUntil { frames in
                    frames.contains { frame in
                        if case .ping(let data, ack: true) = frame {
                            return data == HTTP2PingData(withInteger: UInt64(200 + round))
                        }
                        return false
                    }
                }
                #expect(acked, "round \(round)")
            }
            let goAway = try await client.goAway(timeout: .zero)
            #expect(goAway == nil, "\(String(describing: goAway))")
            await client.close()
        }
    }

    @Test func aClientProbingBandwidthDuringAStreamKeepsItsConnection() async throws {
        // The same probe during a bidirectional stream: responses are gathered and flushed
        // at the end of the event loop's tick, so PINGs often arrive while one waits.
        try await withHarness { harness in
            let client = try await RawHTTP2Client.connect(port: harness.port, probesBandwidth: true)
            try await client.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Update"))
            let request = try Grpcsimple_Echo_EchoRequest.with { $0.text = "probe" }.serializedBytes() as [UInt8]
            for _ in 0..<50 {
                try await client.sendData(
                    stream: 1, Array((0..<20).map { _ in RawHTTP2Client.message(request) }.joined()))
                try await Task.sleep(for: .milliseconds(2))
            }
            try await client.sendData(stream: 1, [], endStream: true)
            let response = try await client.response(stream: 1, timeout: .seconds(30))
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "0")
            // How many probes go out depends on how the server's echoes fall into DATA frames:
            // on a busy machine (the whole suite in parallel) all 1,000 can come in one frame
            // with the trailers, and the one probe's ack after them. So: at least one probe,
            // all answered. (The count past NIOHTTP2's limit is the next test's.)
            let answered = await client.waitUntil { frames in
                frames.contains { if case .ping(_, ack: true) = $0 { true } else { false } }
            }
            #expect(answered, "no probe was answered")
            let goAway = try await client.goAway(timeout: .zero)
            #expect(goAway == nil, "\(String(describing: goAway))")
            await client.close()
        }
    }

    @Test func aClientProbingBandwidthAfterEveryResponseKeepsItsConnectionPast200Pings() async throws {
        // grpc-go's client pings each time DATA arrives once its previous probe is acked:
        // one PING per round trip for as long as a call streams, hundreds a second on
        // loopback. Every one follows a response, so the ping policy allows it; NIOHTTP2's
        // control-frame limit (200 PING, SETTINGS, ... frames per 30 s) counted them all and
        // answered the 201st control frame with GOAWAY ENHANCE_YOUR_CALM, which is what
        // grpc-go's client got from bench-server during the Echo benchmark.
        try await withHarness { harness in
            let client = try await RawHTTP2Client.connect(port: harness.port, probesBandwidth: true)
            try await client.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Update"))
            let request = try Grpcsimple_Echo_EchoRequest.with { $0.text = "probe" }.serializedBytes() as [UInt8]
            let rounds = 250
            for round in 1...rounds {
                // One message; its echo sets off one probe; the next round waits for its ack.
                try await client.sendData(stream: 1, RawHTTP2Client.message(request))
                let probed = await client.waitUntil { frames in
                    frames.filter { if case .ping(_, ack: true) = $0 { true } else { false } }.count >= round
                        || frames.contains { if case .goAway = $0 { true } else { false } }
                }
                #expect(probed, "round \(round)")
                if !probed { break }
            }
            let goAway = try await client.goAway(timeout: .zero)
            #expect(goAway == nil, "\(String(describing: goAway))")
            if goAway == nil {
                try await client.sendData(stream: 1, [], endStream: true)
                let response = try await client.response(stream: 1, timeout: .seconds(30))
                #expect(response.headerBlocks.last?.first(name: "grpc-status") == "0")
            }
            let probes = client.frames.filter { if case .ping(_, ack: true) = $0 { true } else { false } }.count
            #expect(probes >= rounds, "the client probed \(probes) times")
            await client.close()
        }
    }

    @Test func ourClientKeepsItsConnectionToAServerProbingBandwidth() async throws {
        // grpc-go's server probes bandwidth too: a PING each time DATA arrives from the
        // client once its previous probe is acked. NIOHTTP2's control-frame limit on our
        // client counted every one and sent the server GOAWAY ENHANCE_YOUR_CALM after 200,
        // failing a client stream to a grpc-go server with its defaults.
        let server = try await RawHTTP2ProbingServer.start()
        let channel = try GRPCChannel(host: "127.0.0.1", port: server.port)
        let echo = Grpcsimple_Echo_EchoClient(channel: channel)
        let messages = 250
        do {
            try await echo.update { writer, responses in
                for index in 0..<messages {
                    try await writer.write(.with { $0.text = "probe \(index)" })
                    // Its DATA sets off one probe; the next message waits for the probe's ack.
                    let acked = await eventually(within: .seconds(10)) {
                        server.probesAcked > index || server.goAwayReceived != nil
                    }
                    if !acked || server.goAwayReceived != nil { break }
                }
                writer.finish()
                for try await _ in responses {}
            }
        } catch {
            Issue.record("the call failed: \(error)")
        }
        #expect(server.goAwayReceived == nil)
        #expect(server.probesAcked >= messages, "the server probed \(server.probesAcked) times")
        await channel.close()
        await server.stop()
    }

    @Test func pingsWithinThePolicyAreAnswered() async throws {
        var configuration = Server.Configuration()
        configuration.keepalive.minimumPingInterval = .milliseconds(50)
        configuration.keepalive.permitPingsWithoutCalls = true
        // Pings 600 ms apart against a 50 ms minimum: only a server stalled for over a
        // second could read three of them too close together. An event loop of its own
        // for the client: on the shared one, another test flooding its loop could hold
        // our pings back and send them all at once.
        let ownLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { ownLoop.shutdownGracefully { _ in } }
        try await withHarness(configuration: configuration) { harness in
            let client = try await RawHTTP2Client.connect(port: harness.port, group: ownLoop)
            for value in 1...4 {
                try await client.send([Self.ping(UInt64(value))])
                try await Task.sleep(for: .milliseconds(600))
            }
            let acked = await client.waitUntil { frames in
                frames.filter { if case .ping(_, ack: true) = $0 { return true } else { return false } }.count >= 4
            }
            #expect(acked)
            #expect(try await client.goAway(timeout: .zero) == nil)
            #expect(!(await client.closed(within: .zero)))
            await client.close()
        }
    }

    @Test func ourClientPingingTooOftenIsToldWhyAndBacksOff() async throws {
        var channelConfiguration = GRPCChannel.Configuration()
        channelConfiguration.keepalive = .init(time: .milliseconds(100), timeout: .seconds(10))
        // The server allows one ping per 5 minutes: the client's fourth ping ends it.
        try await withHarness(channelConfiguration: channelConfiguration) { harness in
            let echo = harness.echo
            let error = await expectRPCError {
                _ = try await withTimeout(seconds: 20) {
                    try await echo.get(.with { $0.text = "x" }, options: CallOptions(metadata: ["sleep-ms": "15000"]))
                }
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("too_many_pings") == true, "\(String(describing: error))")
            let core = harness.channel.core
            let time = try await harness.channel.eventLoop.submit { core.value.keepalive?.time }.get()
            #expect(time == .milliseconds(200))
        }
    }

    @Test func ourClientPingingWithinTheServersPolicyKeepsItsConnection() async throws {
        var configuration = Server.Configuration()
        configuration.keepalive.minimumPingInterval = .milliseconds(50)
        var channelConfiguration = GRPCChannel.Configuration()
        channelConfiguration.keepalive = .init(time: .milliseconds(100), timeout: .seconds(5))
        try await withHarness(configuration: configuration, channelConfiguration: channelConfiguration) { harness in
            // About seven pings go out while the call sleeps; each is acked and allowed.
            let reply = try await harness.echo.get(
                .with { $0.text = "kept" }, options: CallOptions(metadata: ["sleep-ms": "800"]))
            #expect(reply.text == "kept")
            let core = harness.channel.core
            let time = try await harness.channel.eventLoop.submit { core.value.keepalive?.time }.get()
            #expect(time == .milliseconds(100), "the server sent too_many_pings")
        }
    }

    /// A TCP server that accepts connections and reads, but never writes a byte: a
    /// server that hung, or a network that dropped the connection silently.
    final class BlackHole: Sendable {
        let channel: any NIOCore.Channel
        let received = NIOLockedValueBox<[[UInt8]]>([])
        var port: Int { self.channel.localAddress!.port! }

        private final class Sink: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            let received: NIOLockedValueBox<[[UInt8]]>
            let index: Int
            init(_ received: NIOLockedValueBox<[[UInt8]]>) {
                self.received = received
                self.index = received.withLockedValue {
                    $0.append([])
                    return $0.count - 1
                }
            }
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                let bytes = self.unwrapInboundIn(data).readableBytesView
                self.received.withLockedValue { $0[self.index].append(contentsOf: bytes) }
            }
        }

        init() async throws {
            let received = self.received
            self.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Sink(received))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        }

        /// Whether the bytes of connection `index` hold a PING frame.
        func receivedPing(onConnection index: Int) -> Bool {
            let bytes = self.received.withLockedValue { $0.indices.contains(index) ? $0[index] : [] }
            var offset = RawSocket.preface.count
            while bytes.count - offset >= 9 {
                let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
                if bytes[offset + 3] == RawSocket.Frame.ping { return true }
                offset += 9 + length
            }
            return false
        }

        func stop() async {
            try? await self.channel.close()
        }
    }

    @Test func keepaliveClosesAConnectionToASilentServerAndTheChannelReconnects() async throws {
        let blackHole = try await BlackHole()
        var configuration = GRPCChannel.Configuration()
        configuration.keepalive = .init(time: .milliseconds(100), timeout: .milliseconds(300))
        let channel = try GRPCChannel(host: "127.0.0.1", port: blackHole.port, configuration: configuration)
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        for attempt in 0..<2 {
            let error = await expectRPCError {
                _ = try await withTimeout(seconds: 20) { try await client.get(.with { $0.text = "anyone?" }) }
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("keepalive timed out") == true, "\(String(describing: error))")
            // The kernel completes a connection before the listener accepts it: on a busy
            // machine the black hole may see it a little after the client gave up on it.
            var sawConnectionAndPing = false
            for _ in 0..<500 where !sawConnectionAndPing {
                sawConnectionAndPing =
                    blackHole.received.withLockedValue { $0.count } == attempt + 1
                    && blackHole.receivedPing(onConnection: attempt)
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(sawConnectionAndPing, "one new connection per call, each with a keepalive ping")
        }
        await channel.close()
        await blackHole.stop()
    }

    @Test func serverKeepaliveClosesAClientThatStoppedAnswering() async throws {
        var configuration = Server.Configuration()
        // The shortest time the server allows (smaller ones are raised to it), and a
        // timeout generous enough for a loaded machine's stalls: the silent client still
        // goes within about 3 s.
        configuration.keepalive.time = .seconds(1)
        configuration.keepalive.timeout = .seconds(2)
        // The answering client gets an event loop of its own: on the shared one, another
        // test flooding its loop could really keep it from answering for seconds.
        let ownLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { ownLoop.shutdownGracefully { _ in } }
        try await withHarness(configuration: configuration) { harness in
            let answering = try await RawHTTP2Client.connect(port: harness.port, group: ownLoop)
            let silent = try await RawSocket.connect(port: harness.port)
            try await silent.write(RawSocket.preface + RawSocket.settings())
            #expect(await silent.closed())
            #expect(silent.frames.contains { $0.type == RawSocket.Frame.ping }, "closed without a keepalive ping")
            // NIOHTTP2 acks the server's pings for the raw HTTP/2 client, which connected
            // first: it got the same pings in the same time, and stays.
            let pinged = await answering.waitUntil { frames in
                frames.contains {
                    if case .ping(let data, ack: false) = $0 {
                        return data == KeepaliveStateMachine.pingData
                    } else {
                        return false
                    }
                }
            }
            #expect(pinged)
            try await Task.sleep(for: .milliseconds(200))
            #expect(!(await answering.closed(within: .zero)))
            await answering.close()
            await silent.close()
        }
    }

    /// A Get that tries again when a new connection reached its idle time or age before
    /// the call reached the server (the server did not process it): on a busy machine
    /// the first frames of a connection can come late.
    static func getRetryingUnprocessed(_ echo: Grpcsimple_Echo_EchoClient, _ text: String, sleepMilliseconds: Int = 0)
        async throws -> String
    {
        for _ in 0..<4 {
            do {
                return try await echo.get(
                    .with { $0.text = text }, options: CallOptions(metadata: ["sleep-ms": "\(sleepMilliseconds)"])
                ).text
            } catch let error as RPCError where error.message.contains("did not process") {
                continue
            }
        }
        return try await echo.get(
            .with { $0.text = text }, options: CallOptions(metadata: ["sleep-ms": "\(sleepMilliseconds)"])
        ).text
    }

    @Test func serverClosesIdleConnectionsButNotBusyOnes() async throws {
        var configuration = Server.Configuration()
        configuration.keepalive.maximumConnectionIdle = .milliseconds(200)
        try await withHarness(configuration: configuration) { harness in
            let idle = try await RawHTTP2Client.connect(port: harness.port)
            #expect(try await idle.goAway()?.errorCode == HTTP2ErrorCode.noError)
            #expect(await idle.closed())
            await idle.close()
            // A call longer than the idle time is not cut, and the channel reconnects after.
            let busy = try await Self.getRetryingUnprocessed(harness.echo, "busy", sleepMilliseconds: 600)
            #expect(busy == "busy")
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await Self.getRetryingUnprocessed(harness.echo, "again") == "again")
        }
    }

    @Test func maximumAgeLetsCallsFinishWithinTheGrace() async throws {
        var configuration = Server.Configuration()
        configuration.keepalive.maximumConnectionAge = .seconds(1)
        configuration.keepalive.maximumConnectionAgeGrace = .seconds(10)
        try await withHarness(configuration: configuration) { harness in
            // The call must reach the server before the connection's age does; on a busy
            // machine it may not, and the server refuses it: then try a new connection.
            var proven = false
            for _ in 0..<10 where !proven {
                let raw = try await RawHTTP2Client.connect(port: harness.port)
                try await raw.sendHeaders(
                    stream: 1, RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Get", [("sleep-ms", "800")]))
                try await raw.sendData(
                    stream: 1, RawHTTP2Client.message([0x0A, 3] + Array("old".utf8)), endStream: true)
                let goAway = try await raw.goAway()
                #expect(goAway?.errorCode == .noError)
                if goAway?.lastStreamID == 1 {
                    // The call in flight still completes, then the connection closes.
                    #expect(try await raw.response(stream: 1).headerBlocks.last?.first(name: "grpc-status") == "0")
                    #expect(await raw.closed())
                    proven = true
                }
                await raw.close()
            }
            #expect(proven, "no call reached the server before its connection's maximum age")
        }
    }

    @Test func maximumAgeGraceCutsCallsThatRunLonger() async throws {
        var configuration = Server.Configuration()
        // An age long enough that a new connection's first call is processed on a loaded
        // machine (300 ms was not, once), and a short grace.
        configuration.keepalive.maximumConnectionAge = .seconds(1)
        configuration.keepalive.maximumConnectionAgeGrace = .milliseconds(300)
        try await withHarness(configuration: configuration) { harness in
            let echo = harness.echo
            var error: RPCError?
            // As above: a call that the server refused at the connection's age is retried
            // on a new connection by the client, and may meet the next age too.
            for _ in 0..<5 where error == nil || error!.message.contains("did not process") {
                error = await expectRPCError {
                    _ = try await withTimeout(seconds: 20) {
                        try await echo.get(
                            .with { $0.text = "x" }, options: CallOptions(metadata: ["sleep-ms": "10000"]))
                    }
                }
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("maximum age") == true, "\(String(describing: error))")
            // Later calls go to a new connection.
            let reply = try await harness.echo.get(.with { $0.text = "new" })
            #expect(reply.text == "new")
        }
    }
}
