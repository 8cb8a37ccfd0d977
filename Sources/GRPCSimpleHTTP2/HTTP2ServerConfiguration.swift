import NIOCore

/// The HTTP/2 settings an `HTTP2ServerConnection` advertises, and the limits it enforces on a
/// client.
public struct HTTP2ServerConfiguration: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams past it are refused with RST_STREAM
    /// REFUSED_STREAM and the connection is kept (RFC 9113 §5.1.2).
    public var maxConcurrentStreams = 100
    /// SETTINGS_MAX_HEADER_LIST_SIZE, also the bound on an encoded header block.
    public var maxHeaderListSize = 16 * 1024
    /// SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window, once the client has
    /// acknowledged our SETTINGS (65,535 before, as RFC 9113 §6.9.2 has it).
    public var initialWindowSize = 1 << 20
    /// The connection's receive window; the difference to 65,535 is given in a WINDOW_UPDATE
    /// right after our SETTINGS.
    public var connectionWindowSize = 8 << 20
    /// Received DATA bytes (per stream, and for the connection) that make us send a WINDOW_UPDATE.
    public var windowUpdateThreshold = 32 * 1024
    /// Our SETTINGS_MAX_FRAME_SIZE (not advertised: the protocol default).
    public var maxFrameSize = 16_384
    /// CONTINUATION frames allowed after one HEADERS frame (NIOHTTP2's default is 5).
    public var maxContinuationFrames = 5
    /// RST_STREAMs a client may send per `rateLimitWindow` (rapid reset, CVE-2023-44487):
    /// past it, GOAWAY ENHANCE_YOUR_CALM.
    public var maxResetsPerWindow = 200
    /// PING, SETTINGS and PRIORITY frames a client may send per `rateLimitWindow`: past it,
    /// GOAWAY ENHANCE_YOUR_CALM. A PING that follows HEADERS or DATA the server wrote since
    /// the previous PING (a bandwidth probe) is not counted.
    public var maxControlFramesPerWindow = 200
    /// The window of the two rate limits above.
    public var rateLimitWindow = TimeAmount.seconds(30)
    /// Stream errors a client may cause on one connection (frames on closed streams, malformed
    /// requests, ...) before GOAWAY ENHANCE_YOUR_CALM.
    public var maxStreamErrors = 200
    /// Response bytes one stream may hold back while it waits for the client's flow-control
    /// window; `sendData` refuses more (the caller waits for `hasBufferedOutput` to clear).
    public var maxBufferedOutputPerStream = 4 << 20
    /// How many closed streams are remembered, to answer late frames as RFC 9113 §5.1 asks.
    public var closedStreamsRemembered = 64

    /// The defaults: NIOHTTP2's limits, gRPC's usual windows.
    public init() {}
}
