/// The frame types of RFC 9113 §6 (any other value is an extension frame, ignored).
public enum FrameType {
    /// DATA (§6.1).
    public static let data: UInt8 = 0x0
    /// HEADERS (§6.2).
    public static let headers: UInt8 = 0x1
    /// PRIORITY (§6.3), deprecated: accepted and ignored.
    public static let priority: UInt8 = 0x2
    /// RST_STREAM (§6.4).
    public static let rstStream: UInt8 = 0x3
    /// SETTINGS (§6.5).
    public static let settings: UInt8 = 0x4
    /// PUSH_PROMISE (§6.6): a client must never send it.
    public static let pushPromise: UInt8 = 0x5
    /// PING (§6.7).
    public static let ping: UInt8 = 0x6
    /// GOAWAY (§6.8).
    public static let goAway: UInt8 = 0x7
    /// WINDOW_UPDATE (§6.9).
    public static let windowUpdate: UInt8 = 0x8
    /// CONTINUATION (§6.10).
    public static let continuation: UInt8 = 0x9
}
