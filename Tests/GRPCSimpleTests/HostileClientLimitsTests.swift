import GRPCSimple
import NIOHTTP2
import TestServices
import Testing

/// The limits a hostile client meets that only a raw-bytes writer can cross: streams past
/// SETTINGS_MAX_CONCURRENT_STREAMS, CONTINUATION and SETTINGS floods, and a client that
/// never reads. Each time, the server goes on serving everyone else.
extension FloodTests {
    static let getPath = "/grpcsimple.echo.Echo/Get"

    /// A raw client that has done its handshake, acking the server's SETTINGS so that
    /// the server's limits apply.
    static func handshake(port: Int, settings: [(UInt16, UInt32)] = []) async throws -> RawSocket {
        let socket = try await RawSocket.connect(port: port)
        try await socket.write(RawSocket.preface + RawSocket.settings(settings))
        _ = await socket.firstFrame { $0.type == RawSocket.Frame.settings && $0.flags & 1 == 0 }
        try await socket.write(RawSocket.frame(type: RawSocket.Frame.settings, flags: 1))
        return socket
    }

    @Test func streamsPastTheConcurrencyLimitAreRefusedAndTheConnectionKept() async throws {
        var configuration = Server.Configuration()
        configuration.maximumConcurrentStreams = 4
        try await withHarness(configuration: configuration) { harness in
            let attacker = try await Self.handshake(port: harness.port)
            // The server has applied its limit once it has seen our ack; a SETTINGS ack
            // coming back for an empty SETTINGS of ours shows it has read that far.
            try await attacker.write(RawSocket.settings())
            _ = await attacker.firstFrame { $0.type == RawSocket.Frame.settings && $0.flags & 1 == 1 }
            let block = try RawSocket.headerBlock(
                RawHTTP2Client.requestHeaders(path: Self.getPath, [("sleep-ms", "5000")]))
            for stream in stride(from: UInt32(1), through: 9, by: 2) {
                // HEADERS with END_HEADERS, no END_STREAM: each call stays open.
                try await attacker.write(
                    RawSocket.frame(type: RawSocket.Frame.headers, flags: 0x4, stream: stream, payload: block))
            }
            // RFC 9113 §5.1.2: the fifth stream is a stream error, RST_STREAM
            // REFUSED_STREAM (which clients retry), and the connection and its four calls go on.
            let reset = await attacker.firstFrame { $0.type == RawSocket.Frame.rstStream && $0.stream == 9 }
            #expect(reset?.errorCode == UInt32(HTTP2ErrorCode.refusedStream.networkCode))
            try await attacker.write(
                RawSocket.frame(type: RawSocket.Frame.ping, payload: [UInt8](repeating: 7, count: 8)))
            let pong = await attacker.firstFrame { $0.type == RawSocket.Frame.ping && $0.flags & 1 == 1 }
            #expect(pong != nil, "the connection was closed")
            #expect(await attacker.firstFrame(timeout: .zero) { $0.type == RawSocket.Frame.goAway } == nil)
            await attacker.close()
            #expect(try await harness.echo.get(.with { $0.text = "still serving" }).text == "still serving")
        }
    }

    /// Sends HEADERS without END_HEADERS, then CONTINUATION frames of `frameSize` bytes
    /// until the server closes the connection or `limit` bytes went out; returns the
    /// GOAWAY's error code.
    static func continuationFlood(port: Int, frameSize: Int, limit: Int) async throws -> UInt32? {
        let attacker = try await Self.handshake(port: port)
        let block = try RawSocket.headerBlock(RawHTTP2Client.requestHeaders(path: Self.getPath))
        try await attacker.write(RawSocket.frame(type: RawSocket.Frame.headers, flags: 0, stream: 1, payload: block))
        let continuation = RawSocket.frame(
            type: RawSocket.Frame.continuation, stream: 1, payload: [UInt8](repeating: 0, count: frameSize))
        let batch = Array([[UInt8]](repeating: continuation, count: max(1, 64 * 1024 / continuation.count)).joined())
        var sent = 0
        while sent < limit {
            do {
                try await attacker.write(batch)
            } catch {
                break  // the server closed the connection
            }
            sent += batch.count
            if !(await attacker.closed(within: .zero)) { continue }
            break
        }
        let goAway = await attacker.firstFrame { $0.type == RawSocket.Frame.goAway }
        #expect(await attacker.closed(), "the connection was still open after \(sent) bytes of CONTINUATION")
        await attacker.close()
        return goAway?.errorCode
    }

    @Test func continuationFloodIsCutOff() async throws {
        try await withHarness { harness in
            // Many small frames: 5 in a row are allowed, then ENHANCE_YOUR_CALM.
            let small = try await Self.continuationFlood(port: harness.port, frameSize: 16, limit: 16 * 1024 * 1024)
            #expect(small == UInt32(HTTP2ErrorCode.enhanceYourCalm.networkCode))
            // Big frames: the header block passes SETTINGS_MAX_HEADER_LIST_SIZE first, and is
            // cut off there, also with ENHANCE_YOUR_CALM.
            let big = try await Self.continuationFlood(
                port: harness.port, frameSize: 16 * 1024, limit: 16 * 1024 * 1024)
            #expect(big == UInt32(HTTP2ErrorCode.enhanceYourCalm.networkCode))
            #expect(try await harness.echo.get(.with { $0.text = "still serving" }).text == "still serving")
        }
    }

    @Test func settingsFloodClosesTheAttackersConnectionOnly() async throws {
        try await withHarness { harness in
            // 1,000 SETTINGS frames, none of the server's acks read or answered.
            let attacker = try await RawSocket.connect(port: harness.port)
            let flood = Array([[UInt8]](repeating: RawSocket.settings([(0x4, 65535)]), count: 1000).joined())
            try await attacker.write(RawSocket.preface + flood)
            let goAway = await attacker.firstFrame { $0.type == RawSocket.Frame.goAway }
            #expect(goAway?.errorCode == UInt32(HTTP2ErrorCode.enhanceYourCalm.networkCode))
            #expect(await attacker.closed())
            await attacker.close()
            #expect(try await harness.echo.get(.with { $0.text = "still serving" }).text == "still serving")
        }
    }

    @Test func aClientThatNeverReadsHoldsTheHandlerBack() async throws {
        try await withHarness { harness in
            // The client opens every flow-control window wide, so only TCP and the
            // server's write back-pressure stand between the handler and its memory.
            let reader = try await RawSocket.connect(port: harness.port, reading: false)
            let word = [UInt8](repeating: UInt8(ascii: "z"), count: 1000)
            let request = RawHTTP2Client.message([0x0A, 0xE8, 0x07] + word)
            let headers = try RawSocket.headerBlock(
                RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Expand", [("repeat", "100000")]))
            try await reader.write(
                RawSocket.preface
                    + RawSocket.settings([(0x4, 0x7FFF_FFFF)])
                    + RawSocket.frame(type: RawSocket.Frame.windowUpdate, payload: [0x7F, 0xFF, 0x00, 0x00])
                    + RawSocket.frame(type: RawSocket.Frame.headers, flags: 0x4, stream: 1, payload: headers)
                    + RawSocket.frame(type: RawSocket.Frame.data, flags: 0x1, stream: 1, payload: request)
            )
            // 100,000 responses of 1 KB: 100 MB if nothing held the handler back. Wait
            // until it stops making progress.
            func written() -> Int {
                harness.probe.events.compactMap { event -> Int? in
                    guard event.hasPrefix("expand wrote ") else { return nil }
                    return Int(event.dropFirst("expand wrote ".count))
                }.max() ?? 0
            }
            var last = -1
            let deadline = ContinuousClock.now.advanced(by: .seconds(20))
            while ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(300))
                let now = written()
                if now > 0 && now == last { break }
                last = now
            }
            // What the kernel's socket buffers take (a few MB on loopback) plus 64 KiB.
            #expect(last > 0)
            #expect(
                last < 30_000, "the handler wrote \(last) messages (~\(last / 1000) MB) to a client that reads nothing")
            #expect(!harness.probe.events.contains { $0.hasPrefix("expand done") })
            // The event loop is not stuck on that connection.
            #expect(try await harness.echo.get(.with { $0.text = "still serving" }).text == "still serving")
            await reader.close()
            // Closing the connection ends the suspended handler.
            let probe = harness.probe
            try await withTimeout {
                while !probe.events.contains(where: { $0.hasPrefix("expand stopped after") }) {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
        }
    }
}
