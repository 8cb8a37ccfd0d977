import NIOCore
import NIOHPACK

/// What the application asks of an `HTTP2ServerHandler`: written to the channel like any
/// outbound message, carried out on its `HTTP2ServerConnection`, and flushed on `flush`.
public enum HTTP2ServerCommand: Sendable {
    /// The response HEADERS of a stream.
    case headers(streamID: UInt32, headers: HPACKHeaders)
    /// Response DATA; waits for the client's windows if it must.
    case data(streamID: UInt32, data: ByteBuffer)
    /// The response's trailers, which end the stream (after any DATA that waits).
    case trailers(streamID: UInt32, trailers: HPACKHeaders)
    /// RST_STREAM with `code`.
    case reset(streamID: UInt32, code: HTTP2ErrorCode)
    /// The application read `bytes` of the stream's request DATA: its window may come back.
    case dataConsumed(streamID: UInt32, bytes: Int)
    /// A PING of our own (keepalive).
    case ping(opaque: UInt64)
    /// GOAWAY NO_ERROR: streams up to `lastStreamID` (by default the highest so far) go on.
    case drain(lastStreamID: UInt32?)
    /// GOAWAY with `code` and `debugData`; the connection closes once it is written.
    case abort(code: HTTP2ErrorCode, debugData: ByteBuffer?)
}
