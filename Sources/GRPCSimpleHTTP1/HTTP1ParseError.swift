/// Why a request cannot be read: the status of the error response, and which rule the client
/// broke (static text, also the error response's body and the connection error's reason).
struct HTTP1ParseError: Error, Sendable, Equatable {
    /// The response's status code: 400, 414, 431, 501 or 505.
    var status: Int
    /// Which rule was broken.
    var reason: StaticString

    init(_ status: Int, _ reason: StaticString) {
        self.status = status
        self.reason = reason
    }

    static func == (lhs: HTTP1ParseError, rhs: HTTP1ParseError) -> Bool {
        lhs.status == rhs.status && lhs.reason.description == rhs.reason.description
    }

    /// A malformed request.
    static func badRequest(_ reason: StaticString) -> HTTP1ParseError { HTTP1ParseError(400, reason) }
}
