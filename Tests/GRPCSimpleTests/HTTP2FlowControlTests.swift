// RFC 9113 §6.9 flow control in the server transport: both directions, the windows' bounds,
// and what waits for a window.
import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK
import Testing

@Suite struct HTTP2FlowControlTests {
    @Test func aWindowUpdateOfZeroOnAStreamIsAStreamErrorProtocolError() {
        // Issue 16 (h2spec 6.9): a stream error, the connection is kept.
        var client = HTTP2TestClient()
        client.open(stream: 1)
        #expect(client.feed(HTTP2TestClient.windowUpdate(stream: 1, increment: 0)).first?.resetCode == .protocolError)
        #expect(client.output().reset(of: 1) == .protocolError)
        #expect(client.open(stream: 3).first?.isRequestHead == true)
    }

    @Test func aWindowUpdateOfZeroOnTheConnectionIsAConnectionError() {
        var client = HTTP2TestClient()
        #expect(client.feed(HTTP2TestClient.windowUpdate(stream: 0, increment: 0)).connectionError == .protocolError)
    }

    @Test func aStreamWindowPastTheMaximumIsAStreamErrorFlowControlError() {
        // Issue 16 (h2spec 6.9.1): 65,535 + 2^31-1 overflows the stream's window.
        var client = HTTP2TestClient()
        client.open(stream: 1)
        let events = client.feed(HTTP2TestClient.windowUpdate(stream: 1, increment: 0x7fff_ffff))
        #expect(events.first?.resetCode == .flowControlError)
        #expect(client.output().reset(of: 1) == .flowControlError)
        #expect(!client.connection.isClosed)
        #expect(client.open(stream: 3).first?.isRequestHead == true)
    }

    @Test func theConnectionWindowPastTheMaximumIsAConnectionError() {
        var client = HTTP2TestClient()
        let events = client.feed(HTTP2TestClient.windowUpdate(stream: 0, increment: 0x7fff_ffff))
        #expect(events.connectionError == .flowControlError)
    }

    @Test func aSettingsChangeThatPushesAStreamWindowPastTheMaximumIsAConnectionError() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        _ = client.feed(HTTP2TestClient.windowUpdate(stream: 1, increment: 0x7fff_0000))
        let events = client.feed(HTTP2TestClient.settings([(SettingsParameters.initialWindowSize, 0x7fff_ffff)]))
        #expect(events.connectionError == .flowControlError)
    }

    @Test func dataPastTheStreamWindowIsAStreamErrorFlowControlError() {
        var configuration = HTTP2ServerConfiguration()
        configuration.initialWindowSize = 16
        var client = HTTP2TestClient(configuration: configuration)
        client.open(stream: 1)
        let events = client.feed(HTTP2TestClient.data(stream: 1, Array(repeating: 0, count: 17)))
        #expect(events.first?.resetCode == .flowControlError)
    }

    @Test func dataPastTheConnectionWindowIsAConnectionError() {
        var configuration = HTTP2ServerConfiguration()
        configuration.connectionWindowSize = 65_535
        configuration.windowUpdateThreshold = 1 << 30
        var client = HTTP2TestClient(configuration: configuration)
        var events: [HTTP2ServerEvent] = []
        // Five streams of 16,000 bytes each: 80,000 > 65,535, whatever the streams' windows.
        for stream in stride(from: UInt32(1), through: 9, by: 2) {
            client.open(stream: stream)
            events += client.feed(HTTP2TestClient.data(stream: stream, Array(repeating: 0, count: 16_000)))
        }
        #expect(events.connectionError == .flowControlError)
    }

    @Test func theStreamWindowIsTheDefaultUntilTheClientAcknowledgesOurSettings() {
        // §6.9.2: before the ACK, the client may only count on 65,535 bytes per stream.
        var configuration = HTTP2ServerConfiguration()
        configuration.initialWindowSize = 1 << 20
        var client = HTTP2TestClient(configuration: configuration, acknowledge: false)
        client.open(stream: 1)
        var events: [HTTP2ServerEvent] = []
        for _ in 0..<4 {
            events += client.feed(HTTP2TestClient.data(stream: 1, Array(repeating: 0, count: 16_000)))
        }
        #expect(events.allSatisfy { $0.resetCode == nil })
        // 64,000 used: 1,535 left before the ACK, 1,000,000 more after.
        _ = client.feed(HTTP2TestClient.frame(FrameType.settings, flags: FrameFlags.ack, stream: 0))
        #expect(client.connection.settingsAcknowledged)
        events = client.feed(HTTP2TestClient.data(stream: 1, Array(repeating: 0, count: 16_000)))
        #expect(events.allSatisfy { $0.resetCode == nil }, "the ACK opened the stream's window to 1 MiB")

        var unacknowledged = HTTP2TestClient(configuration: configuration, acknowledge: false)
        unacknowledged.open(stream: 1)
        events = []
        for _ in 0..<5 {
            events += unacknowledged.feed(HTTP2TestClient.data(stream: 1, Array(repeating: 0, count: 16_000)))
        }
        #expect(events.last?.resetCode == .flowControlError, "80,000 bytes before the ACK are too many")
    }

    @Test func theStreamWindowComesBackOnlyAsTheApplicationConsumes() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        _ = client.feed(HTTP2TestClient.data(stream: 1, Array(repeating: 0, count: 16_000)))
        _ = client.feed(HTTP2TestClient.data(stream: 1, Array(repeating: 0, count: 16_000)))
        _ = client.feed(HTTP2TestClient.data(stream: 1, Array(repeating: 0, count: 16_000)))
        #expect(!client.output().contains { $0.type == FrameType.windowUpdate && $0.streamID == 1 })
        client.connection.dataConsumed(streamID: 1, bytes: 48_000)
        let update = client.output().first { $0.type == FrameType.windowUpdate && $0.streamID == 1 }
        #expect(update?.firstWord == 48_000)
    }

    @Test func theConnectionWindowComesBackOnReceipt() {
        var client = HTTP2TestClient()
        client.open(stream: 1)
        for _ in 0..<3 {
            _ = client.feed(HTTP2TestClient.data(stream: 1, Array(repeating: 0, count: 16_000)))
        }
        #expect(client.output().first { $0.type == FrameType.windowUpdate && $0.streamID == 0 }?.firstWord == 48_000)
    }

    @Test func responseDataWaitsForTheClientsWindowAndTheTrailersWaitBehindIt() {
        var client = HTTP2TestClient(settings: [(SettingsParameters.initialWindowSize, 5)])
        client.open(stream: 1, endStream: true)
        client.connection.sendHeaders(streamID: 1, headers: [":status": "200"])
        let dataTaken = client.connection.sendData(streamID: 1, data: ByteBuffer(bytes: Array(repeating: 1, count: 14)))
        #expect(dataTaken)
        let trailersTaken = client.connection.sendTrailers(streamID: 1, trailers: ["grpc-status": "0"])
        #expect(trailersTaken)
        var frames = client.output()
        #expect(frames.filter { $0.type == FrameType.data }.map(\.payload.readableBytes) == [5])
        #expect(!frames.contains { $0.type == FrameType.headers && $0.header.has(FrameFlags.endStream) })
        #expect(client.connection.bufferedOutputBytes(streamID: 1) == 9)
        _ = client.feed(HTTP2TestClient.windowUpdate(stream: 1, increment: 100))
        frames = client.output()
        #expect(frames.map { [$0.type, $0.header.flags] } == [[0, 0], [1, 5]])
        #expect(frames.first?.payload.readableBytes == 9)
        #expect(client.connection.activeStreams == 0)
    }

    @Test func aLargerInitialWindowReleasesWaitingData() {
        var client = HTTP2TestClient(settings: [(SettingsParameters.initialWindowSize, 0)])
        client.open(stream: 1)
        client.connection.sendHeaders(streamID: 1, headers: [":status": "200"])
        client.connection.sendData(streamID: 1, data: ByteBuffer(bytes: [1, 2, 3]))
        #expect(!client.output().contains { $0.type == FrameType.data })
        _ = client.feed(HTTP2TestClient.settings([(SettingsParameters.initialWindowSize, 3)]))
        #expect(client.output().filter { $0.type == FrameType.data }.map(\.payload.readableBytes) == [3])
    }

    @Test func outputHeldBackByFlowControlIsBounded() {
        var configuration = HTTP2ServerConfiguration()
        configuration.maxBufferedOutputPerStream = 100
        var client = HTTP2TestClient(
            configuration: configuration, settings: [(SettingsParameters.initialWindowSize, 0)])
        client.open(stream: 1)
        client.connection.sendHeaders(streamID: 1, headers: [":status": "200"])
        let firstTaken = client.connection.sendData(
            streamID: 1, data: ByteBuffer(bytes: Array(repeating: 1, count: 60)))
        #expect(firstTaken)
        let secondTaken = client.connection.sendData(
            streamID: 1, data: ByteBuffer(bytes: Array(repeating: 1, count: 60)))
        #expect(!secondTaken)
        #expect(client.connection.bufferedOutputBytes(streamID: 1) == 60, "the refused bytes were not taken")
        let thirdTaken = client.connection.sendData(
            streamID: 1, data: ByteBuffer(bytes: Array(repeating: 1, count: 40)))
        #expect(thirdTaken)
    }

    @Test func aStreamWaitingToSendGetsNoNewReceiveWindow() {
        var client = HTTP2TestClient(settings: [(SettingsParameters.initialWindowSize, 0)])
        client.open(stream: 1)
        client.connection.sendHeaders(streamID: 1, headers: [":status": "200"])
        client.connection.sendData(streamID: 1, data: ByteBuffer(bytes: [1]))
        for _ in 0..<3 {
            _ = client.feed(HTTP2TestClient.data(stream: 1, Array(repeating: 0, count: 16_000)))
        }
        client.connection.dataConsumed(streamID: 1, bytes: 48_000)
        #expect(!client.output().contains { $0.type == FrameType.windowUpdate && $0.streamID == 1 })
        _ = client.feed(HTTP2TestClient.windowUpdate(stream: 1, increment: 10))
        #expect(client.output().contains { $0.type == FrameType.windowUpdate && $0.streamID == 1 })
    }
}
