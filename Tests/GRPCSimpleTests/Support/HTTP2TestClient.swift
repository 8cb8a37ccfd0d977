// A client for the state-machine tests of the server's HTTP/2 transport: it writes frames as
// bytes, feeds them to an `HTTP2ServerConnection` (no channel, no socket, its own clock) and
// reads back the frames the connection wrote.
import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK

/// One frame the server wrote.
struct WrittenFrame {
    var header: FrameHeader
    var payload: ByteBuffer

    var type: UInt8 { self.header.type }
    var streamID: UInt32 { self.header.streamID }
    /// The error code of an RST_STREAM, or of a GOAWAY (after its last stream ID).
    var errorCode: HTTP2ErrorCode? {
        switch self.header.type {
        case FrameType.rstStream:
            self.payload.getInteger(at: self.payload.readerIndex, as: UInt32.self).map(HTTP2ErrorCode.init)
        case FrameType.goAway:
            self.payload.getInteger(at: self.payload.readerIndex + 4, as: UInt32.self).map(HTTP2ErrorCode.init)
        default: nil
        }
    }
    /// A GOAWAY's last stream ID, or a WINDOW_UPDATE's increment.
    var firstWord: UInt32? { self.payload.getInteger(at: self.payload.readerIndex, as: UInt32.self) }
}

struct HTTP2TestClient {
    var connection: HTTP2ServerConnection
    var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
    /// The time the next bytes arrive at.
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// A started connection that has read the client preface and `settings`; with
    /// `acknowledge`, also the client's ACK of the server's SETTINGS. The output so far is
    /// discarded.
    init(
        configuration: HTTP2ServerConfiguration = .init(),
        settings: [(UInt16, UInt32)] = [],
        acknowledge: Bool = true
    ) {
        self.connection = HTTP2ServerConnection(configuration: configuration, allocator: ByteBufferAllocator())
        self.connection.start()
        var bytes = ByteBuffer(bytes: FrameParser.preface)
        bytes.writeImmutableBuffer(Self.settings(settings))
        if acknowledge {
            bytes.writeImmutableBuffer(Self.frame(FrameType.settings, flags: FrameFlags.ack, stream: 0))
        }
        _ = self.feed(bytes)
        _ = self.connection.takeOutput()
    }

    // MARK: Frames as bytes

    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32, _ payload: [UInt8] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeFrameHeader(length: payload.count, type: type, flags: flags, streamID: stream)
        buffer.writeBytes(payload)
        return buffer
    }

    static func settings(_ pairs: [(UInt16, UInt32)]) -> ByteBuffer {
        var payload: [UInt8] = []
        for (id, value) in pairs {
            payload += withUnsafeBytes(of: id.bigEndian, Array.init)
            payload += withUnsafeBytes(of: value.bigEndian, Array.init)
        }
        return frame(FrameType.settings, stream: 0, payload)
    }

    static func word(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    static func windowUpdate(stream: UInt32, increment: UInt32) -> ByteBuffer {
        frame(FrameType.windowUpdate, stream: stream, word(increment))
    }

    static func rstStream(stream: UInt32, code: HTTP2ErrorCode = .cancel) -> ByteBuffer {
        frame(FrameType.rstStream, stream: stream, word(code.rawValue))
    }

    static func ping(_ opaque: UInt64 = 42, ack: Bool = false) -> ByteBuffer {
        frame(
            FrameType.ping, flags: ack ? FrameFlags.ack : 0, stream: 0,
            withUnsafeBytes(of: opaque.bigEndian, Array.init))
    }

    static func data(stream: UInt32, _ bytes: [UInt8] = [0, 0, 0, 0, 0], endStream: Bool = false) -> ByteBuffer {
        frame(FrameType.data, flags: endStream ? FrameFlags.endStream : 0, stream: stream, bytes)
    }

    static func requestHeaders(path: String = "/echo.Echo/Get", extra: [(String, String)] = []) -> HPACKHeaders {
        var headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": path, ":authority": "localhost",
            "content-type": "application/grpc", "te": "trailers",
        ]
        for (name, value) in extra { headers.add(name: name, value: value) }
        return headers
    }

    /// An encoded header block (the encoder's dynamic table follows, like a real client's).
    mutating func block(_ headers: HPACKHeaders) -> [UInt8] {
        var buffer = ByteBuffer()
        try! self.encoder.encode(headers: headers, to: &buffer)
        return Array(buffer.readableBytesView)
    }

    mutating func headers(
        stream: UInt32,
        _ headers: HPACKHeaders = HTTP2TestClient.requestHeaders(),
        endStream: Bool = false,
        endHeaders: Bool = true,
        flags: UInt8 = 0
    ) -> ByteBuffer {
        let flags = flags | (endStream ? FrameFlags.endStream : 0) | (endHeaders ? FrameFlags.endHeaders : 0)
        return Self.frame(FrameType.headers, flags: flags, stream: stream, self.block(headers))
    }

    // MARK: Driving

    /// Feeds `bytes` and returns every event they cause.
    mutating func feed(_ bytes: ByteBuffer) -> [HTTP2ServerEvent] {
        self.connection.receive(bytes, now: self.now)
        var events: [HTTP2ServerEvent] = []
        while let event = self.connection.nextEvent() {
            events.append(event)
        }
        return events
    }

    /// Opens a stream with a valid request head.
    @discardableResult
    mutating func open(stream: UInt32, endStream: Bool = false, extra: [(String, String)] = []) -> [HTTP2ServerEvent] {
        let frame = self.headers(stream: stream, Self.requestHeaders(extra: extra), endStream: endStream)
        return self.feed(frame)
    }

    /// The frames written since the last call.
    mutating func output() -> [WrittenFrame] {
        var output = self.connection.takeOutput()
        var frames: [WrittenFrame] = []
        while let header = FrameHeader.peek(in: output), output.readableBytes >= FrameHeader.size + header.length {
            output.moveReaderIndex(forwardBy: FrameHeader.size)
            frames.append(WrittenFrame(header: header, payload: output.readSlice(length: header.length)!))
        }
        precondition(output.readableBytes == 0, "output ends inside a frame")
        return frames
    }
}

extension [WrittenFrame] {
    /// The code of the RST_STREAM written for `stream`, if one was.
    func reset(of stream: UInt32) -> HTTP2ErrorCode? {
        self.first { $0.type == FrameType.rstStream && $0.streamID == stream }?.errorCode
    }

    /// The code of the GOAWAY written, if one was.
    var goAway: HTTP2ErrorCode? { self.first { $0.type == FrameType.goAway }?.errorCode }
}

extension HTTP2ServerEvent {
    var connectionErrorCode: HTTP2ErrorCode? {
        if case .connectionError(let error) = self { return error.code }
        return nil
    }

    var resetCode: HTTP2ErrorCode? {
        if case .streamReset(_, _, let code) = self { return code }
        return nil
    }

    var isRequestHead: Bool {
        if case .requestHead = self { return true }
        return false
    }
}

extension [HTTP2ServerEvent] {
    var connectionError: HTTP2ErrorCode? { self.lazy.compactMap(\.connectionErrorCode).first }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct XorshiftGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        self.state ^= self.state >> 12
        self.state ^= self.state << 25
        self.state ^= self.state >> 27
        return self.state &* 0x2545_F491_4F6C_DD1D
    }
}
