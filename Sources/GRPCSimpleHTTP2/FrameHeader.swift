import NIOCore

/// The 9-byte header every HTTP/2 frame starts with (RFC 9113 §4.1).
public struct FrameHeader: Equatable, Sendable {
    /// The size of a frame header in bytes.
    public static let size = 9

    /// Payload length (24 bits).
    public var length: Int
    /// The frame type (`FrameType`).
    public var type: UInt8
    /// The frame's flags (`FrameFlags`).
    public var flags: UInt8
    /// Stream identifier, the reserved bit cleared.
    public var streamID: UInt32

    /// A frame header from its fields.
    public init(length: Int, type: UInt8, flags: UInt8, streamID: UInt32) {
        self.length = length
        self.type = type
        self.flags = flags
        self.streamID = streamID
    }

    /// Reads a frame header at the reader index without consuming it; nil if fewer than 9 bytes.
    public static func peek(in buffer: ByteBuffer) -> FrameHeader? {
        let at = buffer.readerIndex
        guard buffer.readableBytes >= FrameHeader.size,
            let lengthAndType = buffer.getInteger(at: at, as: UInt32.self),
            let flags = buffer.getInteger(at: at + 4, as: UInt8.self),
            let stream = buffer.getInteger(at: at + 5, as: UInt32.self)
        else { return nil }
        return FrameHeader(
            length: Int(lengthAndType >> 8),
            type: UInt8(truncatingIfNeeded: lengthAndType),
            flags: flags,
            streamID: stream & 0x7fff_ffff
        )
    }

    /// Whether `flag` is set.
    public func has(_ flag: UInt8) -> Bool { self.flags & flag != 0 }
}
