/// A connection error (RFC 9113 §5.4.1): the connection ends with a GOAWAY carrying `code`.
///
/// Thrown (typed, so never boxed) by the frame parser and the connection state machine for
/// anything a peer sends that breaks the protocol; `reason` says which rule, for logs and tests.
public struct HTTP2ConnectionError: Error, Sendable, CustomStringConvertible {
    /// The code our GOAWAY carries.
    public var code: HTTP2ErrorCode
    /// Which rule the peer broke (static text: an error costs no allocation).
    public var reason: StaticString

    /// An error with the code for the GOAWAY and the rule that was broken.
    public init(_ code: HTTP2ErrorCode, _ reason: StaticString) {
        self.code = code
        self.reason = reason
    }

    /// The code and the reason, for logs.
    public var description: String { "\(self.code): \(self.reason)" }
}
