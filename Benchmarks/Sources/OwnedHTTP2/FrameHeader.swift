import NIOCore

/// The frame types of RFC 9113 §6 (any other value is an extension frame, ignored).
public enum FrameType {
    public static let data: UInt8 = 0x0
    public static let headers: UInt8 = 0x1
    public static let priority: UInt8 = 0x2
    public static let rstStream: UInt8 = 0x3
    public static let settings: UInt8 = 0x4
    public static let pushPromise: UInt8 = 0x5
    public static let ping: UInt8 = 0x6
    public static let goAway: UInt8 = 0x7
    public static let windowUpdate: UInt8 = 0x8
    public static let continuation: UInt8 = 0x9
}

/// The frame flags this codec reads or writes (RFC 9113 §6).
public enum FrameFlags {
    public static let endStream: UInt8 = 0x1
    public static let ack: UInt8 = 0x1
    public static let endHeaders: UInt8 = 0x4
    public static let padded: UInt8 = 0x8
    public static let priority: UInt8 = 0x20
}

/// The 9-byte header every HTTP/2 frame starts with (RFC 9113 §4.1).
public struct FrameHeader: Equatable, Sendable {
    public static let size = 9

    /// Payload length (24 bits).
    public var length: Int
    public var type: UInt8
    public var flags: UInt8
    /// Stream identifier, the reserved bit cleared.
    public var streamID: UInt32

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

    public func has(_ flag: UInt8) -> Bool { self.flags & flag != 0 }
}

extension ByteBuffer {
    /// Appends a 9-byte frame header.
    public mutating func writeFrameHeader(length: Int, type: UInt8, flags: UInt8, streamID: UInt32) {
        self.writeInteger(UInt32(truncatingIfNeeded: length) << 8 | UInt32(type))
        self.writeInteger(flags)
        self.writeInteger(streamID)
    }

    /// Overwrites the length, type and flags of a frame header written earlier at `index`.
    public mutating func setFrameHeader(at index: Int, length: Int, type: UInt8, flags: UInt8) {
        self.setInteger(UInt32(truncatingIfNeeded: length) << 8 | UInt32(type), at: index)
        self.setInteger(flags, at: index + 4)
    }
}
