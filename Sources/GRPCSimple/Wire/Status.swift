import SwiftProtobuf

/// The final status of a call as it travels on the wire: a code, a message, and rich
/// error details (`grpc-status`, `grpc-message`, `grpc-status-details-bin`).
struct Status: Sendable, Hashable {
    var code: StatusCode
    var message: String
    var details: [Google_Protobuf_Any]

    static let ok = Status(code: .ok, message: "")

    init(code: StatusCode, message: String = "", details: [Google_Protobuf_Any] = []) {
        self.code = code
        self.message = message
        self.details = details
    }

    init(_ error: RPCError) {
        self.code = error.code
        self.message = error.message
        self.details = error.details
    }
}
