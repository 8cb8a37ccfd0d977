// SETTINGS in the server transport (RFC 9113 §6.5): what we announce, the client's values
// checked, every SETTINGS acknowledged, and the timeout for the client's ACK of ours.
import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK
import Testing

@Suite struct HTTP2SettingsTests {
    @Test func weAnnounceOurLimitsAndOpenTheConnectionWindow() {
        var configuration = HTTP2ServerConfiguration()
        configuration.maxConcurrentStreams = 7
        configuration.initialWindowSize = 1000
        configuration.maxHeaderListSize = 2000
        configuration.connectionWindowSize = 100_000
        var connection = HTTP2ServerConnection(configuration: configuration, allocator: ByteBufferAllocator())
        connection.start()
        var output = connection.takeOutput()
        let settings = FrameHeader.peek(in: output)
        #expect(settings?.type == FrameType.settings && settings?.length == 18)
        output.moveReaderIndex(forwardBy: FrameHeader.size)
        var pairs: [UInt16: UInt32] = [:]
        for _ in 0..<3 {
            pairs[output.readInteger(as: UInt16.self)!] = output.readInteger(as: UInt32.self)!
        }
        #expect(
            pairs == [
                SettingsParameters.maxConcurrentStreams: 7, SettingsParameters.initialWindowSize: 1000,
                SettingsParameters.maxHeaderListSize: 2000,
            ])
        let update = FrameHeader.peek(in: output)
        #expect(update?.type == FrameType.windowUpdate && update?.streamID == 0)
        output.moveReaderIndex(forwardBy: FrameHeader.size)
        let increment = output.readInteger(as: UInt32.self)
        #expect(increment.map(Int.init) == 100_000 - 65_535)
    }

    @Test func everySettingsFrameIsAcknowledged() {
        var client = HTTP2TestClient()
        _ = client.feed(HTTP2TestClient.settings([(SettingsParameters.headerTableSize, 0)]))
        _ = client.feed(HTTP2TestClient.settings([]))
        let acks = client.output().filter { $0.type == FrameType.settings && $0.header.has(FrameFlags.ack) }
        #expect(acks.count == 2)
        #expect(acks.allSatisfy { $0.payload.readableBytes == 0 })
    }

    @Test func invalidValuesAreConnectionErrors() {
        let cases: [((UInt16, UInt32), HTTP2ErrorCode)] = [
            ((SettingsParameters.enablePush, 2), .protocolError),
            ((SettingsParameters.initialWindowSize, 0x8000_0000), .flowControlError),
            ((SettingsParameters.maxFrameSize, 16_383), .protocolError),
            ((SettingsParameters.maxFrameSize, 16_777_216), .protocolError),
        ]
        for (pair, code) in cases {
            var client = HTTP2TestClient()
            #expect(client.feed(HTTP2TestClient.settings([pair])).connectionError == code, "\(pair)")
            #expect(client.output().goAway == code)
        }
    }

    @Test func unknownSettingsAreIgnored() {
        var client = HTTP2TestClient()
        #expect(
            client.feed(HTTP2TestClient.settings([(0x99, 1), (SettingsParameters.maxConcurrentStreams, 0)])).isEmpty)
        #expect(client.open(stream: 1).first?.isRequestHead == true)
    }

    @Test func theClientsMaxFrameSizeSplitsOurDataAndHeaderBlocks() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        client.connection.sendHeaders(
            streamID: 1, headers: [":status": "200", "x-big": String(repeating: "a", count: 30_000)])
        client.connection.sendData(streamID: 1, data: ByteBuffer(bytes: Array(repeating: 1, count: 20_000)))
        let frames = client.output()
        #expect(frames.map(\.type) == [FrameType.headers, FrameType.continuation, FrameType.data, FrameType.data])
        #expect(frames.allSatisfy { $0.payload.readableBytes <= 16_384 })
        #expect(!frames[0].header.has(FrameFlags.endHeaders) && frames[1].header.has(FrameFlags.endHeaders))
    }

    @Test func settingsNotAcknowledgedInTimeEndTheConnection() {
        var client = HTTP2TestClient(acknowledge: false)
        let error = client.connection.settingsTimeoutElapsed()
        #expect(error?.code == .settingsTimeout)
        #expect(client.output().goAway == .settingsTimeout)
        #expect(client.connection.isClosed)
    }

    @Test func acknowledgedSettingsNeverTimeOut() {
        var client = HTTP2TestClient()
        let error = client.connection.settingsTimeoutElapsed()
        #expect(error == nil)
        #expect(!client.connection.isClosed)
    }

    @Test func anUnsolicitedAckIsIgnored() {
        var client = HTTP2TestClient()
        #expect(client.feed(HTTP2TestClient.frame(FrameType.settings, flags: FrameFlags.ack, stream: 0)).isEmpty)
        #expect(!client.connection.isClosed)
    }

    @Test func pingsAreAnsweredAndOurPingsAcknowledged() {
        var client = HTTP2TestClient()
        guard case .pingReceived(42) = client.feed(HTTP2TestClient.ping(42)).first else {
            Issue.record("expected the PING")
            return
        }
        let ack = client.output().first
        #expect(ack?.type == FrameType.ping && ack?.header.has(FrameFlags.ack) == true)
        #expect(ack?.payload.getInteger(at: 0, as: UInt64.self) == 42)
        client.connection.sendPing(opaque: 9)
        #expect(client.output().first?.type == FrameType.ping)
        guard case .pingAcknowledged(9) = client.feed(HTTP2TestClient.ping(9, ack: true)).first else {
            Issue.record("expected the PING ACK")
            return
        }
        #expect(client.output().isEmpty, "an ACK is not answered")
    }
}
