import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// A bare HTTP/2 client for wire tests: sends exactly the frames a test writes and
/// records every frame it receives.
final class RawHTTP2Client: Sendable {
    private let channel: any NIOCore.Channel
    private let received: NIOLockedValueBox<[HTTP2Frame]>

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTP2Frame
        typealias OutboundOut = HTTP2Frame
        let received: NIOLockedValueBox<[HTTP2Frame]>
        let probesBandwidth: Bool
        /// A bandwidth probe is out, not yet acked (only touched on the channel's loop).
        let probeOutstanding = NIOLockedValueBox(false)
        init(_ received: NIOLockedValueBox<[HTTP2Frame]>, probesBandwidth: Bool) {
            self.received = received
            self.probesBandwidth = probesBandwidth
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            self.received.withLockedValue { $0.append(frame) }
            guard self.probesBandwidth else { return }
            switch frame.payload {
            case .data:
                // grpc-go's BDP estimator: a PING when DATA arrives, one at a time.
                guard !self.probeOutstanding.withLockedValue({ $0 }) else { return }
                self.probeOutstanding.withLockedValue { $0 = true }
                let ping = HTTP2Frame(
                    streamID: .rootStream, payload: .ping(RawHTTP2Client.bandwidthProbe, ack: false))
                context.writeAndFlush(self.wrapOutboundOut(ping), promise: nil)
            case .ping(let data, ack: true) where data == RawHTTP2Client.bandwidthProbe:
                self.probeOutstanding.withLockedValue { $0 = false }
            default:
                break
            }
        }
    }

    /// The opaque data of the PINGs a bandwidth-probing client sends.
    static let bandwidthProbe = HTTP2PingData(withInteger: 0xB0B)

    /// Connects; `group` defaults to NIO's singleton, shared with the other tests' clients.
    /// With `probesBandwidth`, the client sends a PING each time DATA arrives while none is
    /// out, as grpc-go's and C-core's clients do to estimate the bandwidth-delay product.
    static func connect(
        port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, probesBandwidth: Bool = false
    ) async throws
        -> RawHTTP2Client
    {
        let received = NIOLockedValueBox<[HTTP2Frame]>([])
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A test client takes whatever the server sends: NIOHTTP2's flood limits
                    // are the server's to enforce, not this client's.
                    var connection = NIOHTTP2Handler.ConnectionConfiguration()
                    connection.controlFrameRateLimit.maximumCount = .max
                    connection.maximumConnectionGlitches = .max
                    let http2 = NIOHTTP2Handler(
                        mode: .client, connectionConfiguration: connection, streamConfiguration: .init())
                    try channel.pipeline.syncOperations.addHandler(http2)
                    try channel.pipeline.syncOperations.addHandler(
                        Collector(received, probesBandwidth: probesBandwidth))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawHTTP2Client(channel: channel, received: received)
    }

    private init(channel: any NIOCore.Channel, received: NIOLockedValueBox<[HTTP2Frame]>) {
        self.channel = channel
        self.received = received
    }

    /// Standard gRPC request headers for `path`, plus `extra`.
    static func requestHeaders(path: String, _ extra: [(String, String)] = []) -> HPACKHeaders {
        // Pseudo-headers first, as HTTP/2 requires; `extra` overrides defaults in place.
        var fields: [(String, String)] = [
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers"),
        ]
        for (name, value) in extra {
            if let index = fields.firstIndex(where: { $0.0 == name }) {
                fields[index].1 = value
            } else {
                fields.append((name, value))
            }
        }
        return HPACKHeaders(fields)
    }

    func send(_ frames: [HTTP2Frame]) async throws {
        for frame in frames {
            self.channel.write(frame, promise: nil)
        }
        self.channel.flush()
    }

    func sendHeaders(stream: Int, _ headers: HPACKHeaders, endStream: Bool = false) async throws {
        try await self.send([
            HTTP2Frame(
                streamID: HTTP2StreamID(stream), payload: .headers(.init(headers: headers, endStream: endStream)))
        ])
    }

    func sendData(stream: Int, _ bytes: [UInt8], endStream: Bool = false) async throws {
        try await self.send([
            HTTP2Frame(
                streamID: HTTP2StreamID(stream),
                payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: bytes)), endStream: endStream)))
        ])
    }

    /// The frames received on `stream`, once it ended (END_STREAM or RST_STREAM).
    func response(stream: Int, timeout: Duration = .seconds(10)) async throws -> [HTTP2Frame.FramePayload] {
        let id = HTTP2StreamID(stream)
        let response: [HTTP2Frame.FramePayload]? = await poll(within: timeout) {
            let frames = self.received.withLockedValue { $0.filter { $0.streamID == id } }
            let ended = frames.contains { frame in
                switch frame.payload {
                case .headers(let headers): headers.endStream
                case .data(let data): data.endStream
                case .rstStream: true
                default: false
                }
            }
            return ended ? frames.map(\.payload) : nil
        }
        guard let response else { throw TimeoutError(seconds: Double(timeout.components.seconds)) }
        return response
    }

    func close() async {
        try? await self.channel.close()
    }

    /// Every frame received so far.
    var frames: [HTTP2Frame.FramePayload] { self.received.withLockedValue { $0.map(\.payload) } }

    /// Waits up to `timeout` until `condition` holds for the frames received so far.
    func waitUntil(timeout: Duration = .seconds(10), _ condition: ([HTTP2Frame.FramePayload]) -> Bool) async -> Bool {
        await eventually(within: timeout) { condition(self.frames) }
    }

    /// The GOAWAY frame the server sent, once it has sent one; nil if none came in time.
    func goAway(timeout: Duration = .seconds(10)) async throws -> (
        lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode, debugData: String
    )? {
        await poll(within: timeout) {
            self.received.withLockedValue { frames in
                for frame in frames {
                    if case .goAway(let lastStreamID, let errorCode, let data) = frame.payload {
                        return (lastStreamID, errorCode, data.map { String(buffer: $0) } ?? "")
                    }
                }
                return nil
            }
        }
    }

    /// Whether the connection has closed within `timeout`.
    func closed(within timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(within: timeout) { !self.channel.isActive }
    }

    /// A gRPC message: the 5-byte prefix and the payload.
    static func message(_ payload: [UInt8], compressed: Bool = false) -> [UInt8] {
        let length = UInt32(payload.count)
        return [
            compressed ? 1 : 0, UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF),
            UInt8(length & 0xFF),
        ] + payload
    }
}

extension Array where Element == HTTP2Frame.FramePayload {
    /// The header blocks, in order.
    var headerBlocks: [HPACKHeaders] {
        self.compactMap { payload in
            if case .headers(let headers) = payload { return headers.headers }
            return nil
        }
    }

    /// The bytes of every DATA frame, concatenated.
    var dataBytes: [UInt8] {
        self.flatMap { payload -> [UInt8] in
            if case .data(let data) = payload, case .byteBuffer(let buffer) = data.data {
                return [UInt8](buffer.readableBytesView)
            }
            return []
        }
    }
}

/// A bare HTTP/2 server that answers every request with fixed headers and body: for
/// testing how the client reads responses that are not proper gRPC, and what it sends.
final class RawHTTP2Server: Sendable {
    private let channel: any NIOCore.Channel
    /// The header blocks of the requests received so far.
    let requestHeaders: NIOLockedValueBox<[HPACKHeaders]>
    var port: Int { self.channel.localAddress!.port! }

    private final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTP2Frame
        typealias OutboundOut = HTTP2Frame
        let headers: HPACKHeaders
        let body: [UInt8]
        let received: NIOLockedValueBox<[HPACKHeaders]>
        init(headers: HPACKHeaders, body: [UInt8], received: NIOLockedValueBox<[HPACKHeaders]>) {
            self.headers = headers
            self.body = body
            self.received = received
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            guard case .headers(let request) = frame.payload else { return }
            self.received.withLockedValue { $0.append(request.headers) }
            let endWithHeaders = self.body.isEmpty
            context.write(
                self.wrapOutboundOut(
                    HTTP2Frame(
                        streamID: frame.streamID,
                        payload: .headers(.init(headers: self.headers, endStream: endWithHeaders)))), promise: nil)
            if !endWithHeaders {
                context.write(
                    self.wrapOutboundOut(
                        HTTP2Frame(
                            streamID: frame.streamID,
                            payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: self.body)), endStream: true)))),
                    promise: nil)
            }
            context.flush()
        }
    }

    static func start(headers: HPACKHeaders, body: [UInt8] = []) async throws -> RawHTTP2Server {
        let received = NIOLockedValueBox<[HPACKHeaders]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .server))
                    try channel.pipeline.syncOperations.addHandler(
                        Responder(headers: headers, body: body, received: received))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RawHTTP2Server(channel: channel, requestHeaders: received)
    }

    private init(channel: any NIOCore.Channel, requestHeaders: NIOLockedValueBox<[HPACKHeaders]>) {
        self.channel = channel
        self.requestHeaders = requestHeaders
    }

    func stop() async {
        try? await self.channel.close()
    }
}

/// A bare HTTP/2 server that probes bandwidth as grpc-go's server does: a PING each time
/// DATA arrives while none is out. It answers a call's headers at once and its end with
/// status OK (no messages), and counts the acks of its PINGs.
final class RawHTTP2ProbingServer: Sendable {
    private let channel: any NIOCore.Channel
    private let state: NIOLockedValueBox<(probesAcked: Int, goAway: HTTP2ErrorCode?)>
    var port: Int { self.channel.localAddress!.port! }
    /// The acks of its probes received so far.
    var probesAcked: Int { self.state.withLockedValue { $0.probesAcked } }
    /// The error code of the client's GOAWAY, once it sent one.
    var goAwayReceived: HTTP2ErrorCode? { self.state.withLockedValue { $0.goAway } }

    private final class Prober: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTP2Frame
        typealias OutboundOut = HTTP2Frame
        let state: NIOLockedValueBox<(probesAcked: Int, goAway: HTTP2ErrorCode?)>
        /// A probe is out, not yet acked (only touched on the channel's loop).
        let probeOutstanding = NIOLockedValueBox(false)
        init(_ state: NIOLockedValueBox<(probesAcked: Int, goAway: HTTP2ErrorCode?)>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            switch frame.payload {
            case .headers(let request):
                let head: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
                self.write(context, frame.streamID, .headers(.init(headers: head)))
                if request.endStream { self.end(context, frame.streamID) }
            case .data(let payload):
                if !self.probeOutstanding.withLockedValue({ $0 }) {
                    self.probeOutstanding.withLockedValue { $0 = true }
                    self.write(context, .rootStream, .ping(RawHTTP2Client.bandwidthProbe, ack: false))
                }
                if payload.endStream { self.end(context, frame.streamID) }
            case .ping(let data, ack: true) where data == RawHTTP2Client.bandwidthProbe:
                self.probeOutstanding.withLockedValue { $0 = false }
                self.state.withLockedValue { $0.probesAcked += 1 }
            case .goAway(_, let errorCode, _):
                self.state.withLockedValue { $0.goAway = errorCode }
            default:
                break
            }
            context.flush()
        }

        private func end(_ context: ChannelHandlerContext, _ stream: HTTP2StreamID) {
            self.write(context, stream, .headers(.init(headers: ["grpc-status": "0"], endStream: true)))
        }

        private func write(
            _ context: ChannelHandlerContext, _ stream: HTTP2StreamID, _ payload: HTTP2Frame.FramePayload
        ) {
            context.write(self.wrapOutboundOut(HTTP2Frame(streamID: stream, payload: payload)), promise: nil)
        }
    }

    static func start() async throws -> RawHTTP2ProbingServer {
        let state = NIOLockedValueBox<(probesAcked: Int, goAway: HTTP2ErrorCode?)>((0, nil))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The acks of its probes are control frames too: NIOHTTP2's limit on them
                    // is the client's to meet, not this server's to enforce.
                    var connection = NIOHTTP2Handler.ConnectionConfiguration()
                    connection.controlFrameRateLimit.maximumCount = .max
                    try channel.pipeline.syncOperations.addHandler(
                        NIOHTTP2Handler(
                            mode: .server, connectionConfiguration: connection, streamConfiguration: .init()))
                    try channel.pipeline.syncOperations.addHandler(Prober(state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RawHTTP2ProbingServer(channel: channel, state: state)
    }

    private init(channel: any NIOCore.Channel, state: NIOLockedValueBox<(probesAcked: Int, goAway: HTTP2ErrorCode?)>) {
        self.channel = channel
        self.state = state
    }

    func stop() async {
        try? await self.channel.close()
    }
}
