// HTTP2ServerHandler on an EmbeddedChannel: bytes in become events for the next handler,
// commands written become frames, and a connection error closes the channel after its GOAWAY.
import GRPCSimpleHTTP2
import NIOCore
import NIOEmbedded
import NIOHPACK
import Testing

/// Collects the events the transport passes on.
private final class EventCollector: ChannelInboundHandler {
    typealias InboundIn = HTTP2ServerEvent
    var events: [HTTP2ServerEvent] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.events.append(self.unwrapInboundIn(data))
    }
}

/// Counts the reads that reach the head of the pipeline.
private final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var reads = 0

    func read(context: ChannelHandlerContext) {
        self.reads += 1
        context.read()
    }
}

@Suite struct HTTP2ServerHandlerTests {
    private static func frames(written channel: EmbeddedChannel) throws -> [WrittenFrame] {
        var frames: [WrittenFrame] = []
        while var output = try channel.readOutbound(as: ByteBuffer.self) {
            while let header = FrameHeader.peek(in: output), output.readableBytes >= FrameHeader.size + header.length {
                output.moveReaderIndex(forwardBy: FrameHeader.size)
                frames.append(WrittenFrame(header: header, payload: output.readSlice(length: header.length)!))
            }
        }
        return frames
    }

    @Test func aRequestBecomesEventsAndCommandsBecomeFrames() throws {
        let collector = EventCollector()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([HTTP2ServerHandler(), collector])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        #expect(try Self.frames(written: channel).first?.type == FrameType.settings)

        var client = HTTP2TestClient()
        var bytes = ByteBuffer(bytes: FrameParser.preface)
        bytes.writeImmutableBuffer(HTTP2TestClient.settings([]))
        bytes.writeImmutableBuffer(HTTP2TestClient.frame(FrameType.settings, flags: FrameFlags.ack, stream: 0))
        bytes.writeImmutableBuffer(client.headers(stream: 1))
        bytes.writeImmutableBuffer(HTTP2TestClient.data(stream: 1, endStream: true))
        try channel.writeInbound(bytes)
        #expect(collector.events.count == 2)
        #expect(collector.events.first?.isRequestHead == true)
        #expect(try Self.frames(written: channel).map(\.type) == [FrameType.settings])  // the ACK

        channel.write(HTTP2ServerCommand.headers(streamID: 1, headers: [":status": "200"]), promise: nil)
        channel.write(HTTP2ServerCommand.data(streamID: 1, data: ByteBuffer(bytes: [0, 0, 0, 0, 0])), promise: nil)
        channel.writeAndFlush(HTTP2ServerCommand.trailers(streamID: 1, trailers: ["grpc-status": "0"]), promise: nil)
        let frames = try Self.frames(written: channel)
        #expect(frames.map { [$0.type, $0.header.flags] } == [[1, 4], [0, 0], [1, 5]])
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func aConnectionErrorClosesTheChannelAfterItsGoAway() throws {
        let collector = EventCollector()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([HTTP2ServerHandler(), collector])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        _ = try Self.frames(written: channel)
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"))
        #expect(collector.events.first?.connectionErrorCode == .protocolError)
        #expect(try Self.frames(written: channel).last?.errorCode == .protocolError)
        #expect(!channel.isActive)
    }

    @Test func settingsNotAcknowledgedInTimeCloseTheChannel() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTP2ServerHandler(settingsTimeout: .seconds(1)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        var bytes = ByteBuffer(bytes: FrameParser.preface)
        bytes.writeImmutableBuffer(HTTP2TestClient.settings([]))
        try channel.writeInbound(bytes)
        _ = try Self.frames(written: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(try Self.frames(written: channel).last?.errorCode == .settingsTimeout)
        #expect(!channel.isActive)
    }

    @Test func readsWaitWhileTheChannelIsNotWritable() throws {
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([counter, HTTP2ServerHandler()])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let before = counter.reads
        channel.isWritable = false
        channel.read()
        #expect(counter.reads == before, "held back")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(counter.reads == before + 1, "resumed")
        _ = try channel.finish()
    }
}
