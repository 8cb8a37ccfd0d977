/// The one error type of gRPC Simple: a status code, a message for people, and the
/// trailing metadata the peer sent with it.
///
/// Handlers throw it to end a call with a chosen status; clients catch it when a call
/// fails. Its description reads `CODE: message`, e.g.
/// `UNAVAILABLE: failed to connect to 127.0.0.1:50051 (connection refused)`.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The status code; never `.ok`.
    public var code: StatusCode
    /// What went wrong, for people to read.
    public var message: String
    /// The trailing metadata that came with the status.
    public var trailingMetadata: Metadata

    public init(_ code: StatusCode, _ message: String = "", trailingMetadata: Metadata = [:]) {
        self.code = code
        self.message = message
        self.trailingMetadata = trailingMetadata
    }

    public init(code: StatusCode, message: String = "", trailingMetadata: Metadata = [:]) {
        self.init(code, message, trailingMetadata: trailingMetadata)
    }

    public var description: String {
        self.message.isEmpty ? self.code.name : "\(self.code.name): \(self.message)"
    }
}

/// The final status of a call as it travels on the wire: a code and a message.
struct Status: Sendable, Hashable {
    var code: StatusCode
    var message: String

    static let ok = Status(code: .ok, message: "")

    init(code: StatusCode, message: String = "") {
        self.code = code
        self.message = message
    }

    init(_ error: RPCError) {
        self.code = error.code
        self.message = error.message
    }
}
