/// The limits an `HTTP1ServerConnection` enforces on a client's requests.
///
/// A request over a limit is answered with an error response (414 for a long request line,
/// 431 for a large header section, 400 otherwise) and the connection closes: HTTP/1.1 has no
/// way to refuse one request and keep reading the next, since its framing can no longer be
/// trusted.
public struct HTTP1ServerConfiguration: Sendable {
    /// The longest request line (method, target and version, without its CRLF): past it, 414
    /// URI Too Long (the target is what makes a request line long).
    public var maxRequestLineLength = 8 * 1024
    /// The largest header section (every field line with its CRLF, and the empty line that ends
    /// the section): past it, 431 Request Header Fields Too Large.
    public var maxHeaderSectionSize = 16 * 1024
    /// The most header fields in one request: past it, 431.
    public var maxHeaderFields = 100
    /// The longest chunk-size line of a chunked body (the size, any chunk extensions, without
    /// the CRLF): past it, 400. Extensions are skipped, so this bounds the work they cost.
    public var maxChunkLineLength = 1024
    /// The most hexadecimal digits of a chunk size (leading zeros count): past it, 400. At most
    /// 15 are honoured, so a size always fits an `Int`.
    public var maxChunkSizeDigits = 8
    /// The largest trailer section of a chunked body (read, bounded, and ignored): past it, 400.
    public var maxTrailerSectionSize = 16 * 1024
    /// Body bytes delivered in `requestData` events and not yet given back with
    /// `HTTP1ServerConnection.dataConsumed`: past it, parsing pauses (the rest of the input
    /// stays buffered) until the application consumes. HTTP/1.1's stand-in for HTTP/2's
    /// stream window.
    public var receiveWindow = 64 * 1024
    /// The most request body bytes read and thrown away after the response has completed
    /// (so that the next request on the connection can be read): a larger remainder (known
    /// from content-length, or counted as a chunked body goes on) closes the connection
    /// instead.
    public var maxDiscardedBodyBytes = 256 * 1024

    /// The defaults: the limits of common HTTP/1.1 servers (nginx, NIOHTTP1), a 64 KiB window.
    public init() {}
}
