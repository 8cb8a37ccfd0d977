/// The request an `HTTP1ServerConnection` is serving (one at a time), and where its response
/// is.
struct HTTP1CurrentRequest: Sendable {
    /// How the response's body is delimited.
    enum ResponseFraming: Equatable, Sendable {
        /// Transfer-Encoding: chunked; trailers go in the trailer section.
        case chunked
        /// The response had a content-length: the body is written raw and this much is left.
        case length(remaining: Int)
        /// An HTTP/1.0 client and no content-length: the body is written raw and ends when
        /// the connection closes.
        case untilClose
        /// A response that has no body (HEAD, 1xx, 204, 304).
        case none
    }

    /// Where the response is.
    enum Response: Equatable, Sendable {
        /// Nothing written yet.
        case notStarted
        /// The status line and the header fields are written.
        case headWritten(ResponseFraming)
        /// The response is complete.
        case complete
    }

    var streamID: UInt32
    var tag: UInt8 = 0
    var isHTTP10: Bool
    var isHEAD: Bool
    /// The client allows another request after this one (and we do not close for it).
    var keepAlive: Bool
    /// The whole body has arrived (or the request has none).
    var bodyComplete: Bool
    /// Body bytes delivered and not yet given back with `dataConsumed`.
    var unconsumed = 0
    /// Body bytes thrown away since the response completed.
    var discarded = 0
    var response = Response.notStarted
}
