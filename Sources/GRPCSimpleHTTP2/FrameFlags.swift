/// The frame flags this codec reads or writes (RFC 9113 §6).
public enum FrameFlags {
    /// END_STREAM, on DATA and HEADERS.
    public static let endStream: UInt8 = 0x1
    /// ACK, on SETTINGS and PING (the same bit as END_STREAM).
    public static let ack: UInt8 = 0x1
    /// END_HEADERS, on HEADERS and CONTINUATION.
    public static let endHeaders: UInt8 = 0x4
    /// PADDED, on DATA and HEADERS.
    public static let padded: UInt8 = 0x8
    /// PRIORITY, on HEADERS: 5 bytes of (ignored) priority fields precede the block.
    public static let priority: UInt8 = 0x20
}
