import NIOCore

/// Splits inbound bytes into frames: checks the client connection preface, then cuts one
/// complete frame at a time (9-byte header + payload) off the front of the buffer.
///
/// Pure and incremental: bytes may arrive in any split; an incomplete frame stays in the
/// buffer until the rest arrives. A frame announcing more than `maxFrameSize` is rejected as
/// soon as its header is visible, before its payload is buffered.
public struct FrameParser: Sendable {
    /// RFC 9113 §3.4: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".
    public static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// Bytes of the preface matched so far (`preface.count` once it is complete).
    private var prefaceMatched = 0
    /// Our SETTINGS_MAX_FRAME_SIZE: the largest payload we accept.
    public var maxFrameSize: Int

    /// A parser waiting for the client preface.
    public init(maxFrameSize: Int = 16_384) {
        self.maxFrameSize = maxFrameSize
    }

    /// Whether the whole client preface has been consumed.
    public var prefaceReceived: Bool { self.prefaceMatched == FrameParser.preface.count }

    /// Consumes and returns the next complete frame (header and payload slice), or nil when
    /// more bytes are needed. Throws on a bad preface or an oversized frame.
    public mutating func nextFrame(
        from buffer: inout ByteBuffer
    ) throws(HTTP2ConnectionError) -> (header: FrameHeader, payload: ByteBuffer)? {
        if !self.prefaceReceived {
            guard try self.consumePreface(from: &buffer) else { return nil }
        }
        guard let header = FrameHeader.peek(in: buffer) else { return nil }
        guard header.length <= self.maxFrameSize else {
            throw HTTP2ConnectionError(.frameSizeError, "frame larger than SETTINGS_MAX_FRAME_SIZE")
        }
        guard buffer.readableBytes >= FrameHeader.size + header.length else { return nil }
        buffer.moveReaderIndex(forwardBy: FrameHeader.size)
        guard let payload = buffer.readSlice(length: header.length) else { return nil }  // unreachable: length checked
        return (header, payload)
    }

    /// Matches as much of the preface as is available; true once all of it has been consumed.
    private mutating func consumePreface(from buffer: inout ByteBuffer) throws(HTTP2ConnectionError) -> Bool {
        let preface = FrameParser.preface
        while self.prefaceMatched < preface.count, let byte = buffer.readInteger(as: UInt8.self) {
            guard byte == preface[self.prefaceMatched] else {
                throw HTTP2ConnectionError(.protocolError, "bad client connection preface")
            }
            self.prefaceMatched += 1
        }
        return self.prefaceReceived
    }
}
