import NIOCore
import NIOHPACK

/// What the application learns from the bytes a client sent (`HTTP2ServerConnection.nextEvent`).
///
/// A stream is over for the application once it has seen the end of the request (`endStream`,
/// trailers) and sent its trailers, or once it sees `streamReset`.
public enum HTTP2ServerEvent: Sendable {
    /// A new request: its validated header section and its :path.
    case requestHead(streamID: UInt32, path: String, headers: HPACKHeaders, endStream: Bool)
    /// Request DATA (padding removed). `endStream` ends the request. `flowControlledLength` is
    /// what the frame cost the stream's receive window (padding included): the application
    /// gives it back with `HTTP2ServerConnection.dataConsumed` once it has read the bytes, so a
    /// client cannot send faster than the application reads.
    case requestData(streamID: UInt32, tag: UInt8, data: ByteBuffer, endStream: Bool, flowControlledLength: Int)
    /// Request trailers, which end the request.
    case requestTrailers(streamID: UInt32, tag: UInt8, trailers: HPACKHeaders)
    /// An active stream ended abnormally: reset by the client, or by us for a stream error.
    case streamReset(streamID: UInt32, tag: UInt8, errorCode: HTTP2ErrorCode)
    /// The client sent a PING (already acknowledged in the output).
    case pingReceived(opaque: UInt64)
    /// The client acknowledged one of our PINGs.
    case pingAcknowledged(opaque: UInt64)
    /// The client sent GOAWAY.
    case goAway(errorCode: HTTP2ErrorCode, lastStreamID: UInt32)
    /// A connection error: our GOAWAY is in the output; flush it and close.
    case connectionError(HTTP2ConnectionError)
}
