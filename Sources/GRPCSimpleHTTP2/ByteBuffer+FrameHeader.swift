import NIOCore

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
