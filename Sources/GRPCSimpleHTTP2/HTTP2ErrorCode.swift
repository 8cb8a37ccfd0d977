/// An HTTP/2 error code (RFC 9113 §7), as carried by RST_STREAM and GOAWAY.
public struct HTTP2ErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The code as it is on the wire.
    public var rawValue: UInt32

    /// A code from its wire value; unknown values are kept as they are (§7: treated as
    /// INTERNAL_ERROR by whoever acts on them).
    public init(_ rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// NO_ERROR: a graceful shutdown.
    public static let noError = HTTP2ErrorCode(0x0)
    /// PROTOCOL_ERROR: an unspecific protocol error.
    public static let protocolError = HTTP2ErrorCode(0x1)
    /// INTERNAL_ERROR: the endpoint failed on its own.
    public static let internalError = HTTP2ErrorCode(0x2)
    /// FLOW_CONTROL_ERROR: the peer broke flow control.
    public static let flowControlError = HTTP2ErrorCode(0x3)
    /// SETTINGS_TIMEOUT: our SETTINGS were not acknowledged in time.
    public static let settingsTimeout = HTTP2ErrorCode(0x4)
    /// STREAM_CLOSED: a frame arrived on a half-closed or closed stream.
    public static let streamClosed = HTTP2ErrorCode(0x5)
    /// FRAME_SIZE_ERROR: a frame of the wrong size.
    public static let frameSizeError = HTTP2ErrorCode(0x6)
    /// REFUSED_STREAM: the stream was refused before any processing; safe to retry.
    public static let refusedStream = HTTP2ErrorCode(0x7)
    /// CANCEL: the stream is no longer needed.
    public static let cancel = HTTP2ErrorCode(0x8)
    /// COMPRESSION_ERROR: the HPACK state cannot be kept.
    public static let compressionError = HTTP2ErrorCode(0x9)
    /// CONNECT_ERROR: a CONNECT tunnel failed.
    public static let connectError = HTTP2ErrorCode(0xa)
    /// ENHANCE_YOUR_CALM: the peer generates excessive load.
    public static let enhanceYourCalm = HTTP2ErrorCode(0xb)

    /// The code's name in RFC 9113, or its hexadecimal value.
    public var description: String {
        switch self.rawValue {
        case 0x0: "NO_ERROR"
        case 0x1: "PROTOCOL_ERROR"
        case 0x2: "INTERNAL_ERROR"
        case 0x3: "FLOW_CONTROL_ERROR"
        case 0x4: "SETTINGS_TIMEOUT"
        case 0x5: "STREAM_CLOSED"
        case 0x6: "FRAME_SIZE_ERROR"
        case 0x7: "REFUSED_STREAM"
        case 0x8: "CANCEL"
        case 0x9: "COMPRESSION_ERROR"
        case 0xa: "CONNECT_ERROR"
        case 0xb: "ENHANCE_YOUR_CALM"
        default: "0x\(String(self.rawValue, radix: 16))"
        }
    }
}
