import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOPosix

/// A plain TCP connection that writes bytes exactly as a test gives them: for frames no
/// HTTP/2 implementation would send (endless CONTINUATION, streams past the server's
/// limit), and for clients that never answer or never read.
final class RawSocket: Sendable {
    /// One frame as it came off the wire.
    struct Frame {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]

        static let data: UInt8 = 0x0, headers: UInt8 = 0x1, rstStream: UInt8 = 0x3, settings: UInt8 = 0x4
        static let ping: UInt8 = 0x6, goAway: UInt8 = 0x7, windowUpdate: UInt8 = 0x8, continuation: UInt8 = 0x9

        /// GOAWAY's error code.
        var errorCode: UInt32? {
            guard self.type == Self.goAway || self.type == Self.rstStream else { return nil }
            let offset = self.type == Self.goAway ? 4 : 0
            guard self.payload.count >= offset + 4 else { return nil }
            return self.payload[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
    }

    private let channel: any NIOCore.Channel
    private let received: NIOLockedValueBox<[UInt8]>

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<[UInt8]>
        init(_ received: NIOLockedValueBox<[UInt8]>) { self.received = received }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = self.unwrapInboundIn(data)
            self.received.withLockedValue { $0.append(contentsOf: buffer.readableBytesView) }
        }
    }

    /// Connects; with `reading` false the socket is never read, so the server's writes
    /// pile up in the kernel's buffers and then in the server.
    static func connect(port: Int, reading: Bool = true) async throws -> RawSocket {
        let received = NIOLockedValueBox<[UInt8]>([])
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: reading)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawSocket(channel: channel, received: received)
    }

    private init(channel: any NIOCore.Channel, received: NIOLockedValueBox<[UInt8]>) {
        self.channel = channel
        self.received = received
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// A frame: the 9-byte header and the payload.
    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        let length = UInt32(payload.count)
        return [
            UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags,
            UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF),
        ] + payload
    }

    /// A SETTINGS frame with `settings` (identifier, value).
    static func settings(_ settings: [(UInt16, UInt32)] = []) -> [UInt8] {
        let payload = settings.flatMap { id, value in
            [
                UInt8(id >> 8), UInt8(id & 0xFF), UInt8(value >> 24), UInt8(value >> 16 & 0xFF),
                UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF),
            ]
        }
        return Self.frame(type: Frame.settings, payload: payload)
    }

    /// The HPACK encoding of `headers`, as one header block.
    static func headerBlock(_ headers: HPACKHeaders) throws -> [UInt8] {
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator(), useHuffmanEncoding: false)
        var buffer = ByteBuffer()
        try encoder.encode(headers: headers, to: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// Writes `bytes` and waits until they are handed to the kernel; throws once the
    /// connection is closed.
    func write(_ bytes: [UInt8]) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// Every whole frame received so far (after the server's part of the handshake,
    /// which has no preface: a server starts right with SETTINGS).
    var frames: [Frame] {
        let bytes = self.received.withLockedValue { $0 }
        var frames: [Frame] = []
        var index = 0
        while bytes.count - index >= 9 {
            let length = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            guard bytes.count - index >= 9 + length else { break }
            let stream = bytes[index + 5..<index + 9].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF
            frames.append(
                Frame(
                    type: bytes[index + 3], flags: bytes[index + 4], stream: stream,
                    payload: Array(bytes[index + 9..<index + 9 + length])))
            index += 9 + length
        }
        return frames
    }

    /// The first frame received that matches, waiting up to `timeout` for it.
    func firstFrame(timeout: Duration = .seconds(10), where matches: (Frame) -> Bool) async -> Frame? {
        await poll(within: timeout) { self.frames.first(where: matches) }
    }

    /// Every byte received so far.
    var receivedBytes: [UInt8] { self.received.withLockedValue { $0 } }

    /// Whether the server closed the connection within `timeout`.
    func closed(within timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(within: timeout) { !self.channel.isActive }
    }

    func close() async {
        try? await self.channel.close()
    }
}
