import SwiftProtobuf

/// The one error type of gRPC Simple: a status code, a message for people, the trailing
/// metadata the peer sent with it, rich error details, and the error that caused it.
///
/// Handlers throw it to end a call with a chosen status; clients catch it when a call
/// fails. Its description reads `CODE: message`, e.g.
/// `UNAVAILABLE: failed to connect to 127.0.0.1:50051 (connection refused)`.
///
/// Details travel as `google.rpc.Status` in the `grpc-status-details-bin` trailer, which
/// grpc-go, grpcio (`grpcio-status`) and connect-go read and write:
///
/// ```swift
/// throw RPCError(.invalidArgument, "name is empty", details: [try Google_Protobuf_Any(message: violation)])
/// ```
///
/// `cause` is for the server's log and the client's debugging: it is never sent to the peer.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The status code; never `.ok`.
    public var code: StatusCode
    /// What went wrong, for people to read.
    public var message: String
    /// The trailing metadata that came with the status.
    public var trailingMetadata: Metadata
    /// Messages that say more about the error (`google.rpc.ErrorInfo`, `BadRequest`, or
    /// any message of your own), packed as `Any`.
    public var details: [Google_Protobuf_Any]
    /// The error underneath, if any: logged by the server, never sent to the peer; on the
    /// client, the error a connection failed with.
    public var cause: (any Error)?

    /// - Parameters:
    ///   - code: The status code; never `.ok`.
    ///   - message: What went wrong, for people to read.
    ///   - trailingMetadata: Metadata to send (or that came) with the status.
    ///   - details: Messages that say more, packed as `Any`.
    ///   - cause: The error underneath, kept out of the wire.
    public init(
        _ code: StatusCode,
        _ message: String = "",
        trailingMetadata: Metadata = [:],
        details: [Google_Protobuf_Any] = [],
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.trailingMetadata = trailingMetadata
        self.details = details
        self.cause = cause
    }

    /// The first detail of type `M`, if there is one.
    public func detail<M: SwiftProtobuf.Message>(_ type: M.Type) -> M? {
        for detail in self.details where detail.isA(M.self) {
            if let message = try? M(unpackingAny: detail) { return message }
        }
        return nil
    }

    /// `CODE: message`, e.g. `NOT_FOUND: no such person`.
    public var description: String {
        self.message.isEmpty ? self.code.name : "\(self.code.name): \(self.message)"
    }

    /// Equal when code, message, metadata and details are; the cause is not compared.
    public static func == (lhs: RPCError, rhs: RPCError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.trailingMetadata == rhs.trailingMetadata
            && lhs.details == rhs.details
    }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
        hasher.combine(self.message)
        hasher.combine(self.trailingMetadata)
        hasher.combine(self.details)
    }
}
