import NIOHPACK

/// What the first header block of a response says (grpc/grpc `doc/PROTOCOL-HTTP2.md`,
/// "Responses"), checked. Pure: it reads a header block and touches no I/O.
enum ResponseHead: Equatable {
    /// The response headers: messages follow, then trailers.
    case headers(metadata: Metadata, encoding: CompressionAlgorithm)
    /// A trailers-only response: the call ends with this status.
    case trailersOnly(status: Status, metadata: Metadata)
    /// Not a gRPC response the client can read; `resetStream` when the server is still
    /// sending and the stream must be reset.
    case invalid(RPCError, resetStream: Bool)

    /// Reads the first header block of a response; `endStream` says whether it ends the
    /// stream (a trailers-only response).
    static func parse(_ headers: HPACKHeaders, endStream: Bool) -> ResponseHead {
        let httpStatus = headers.first(name: ":status").flatMap { Int($0) } ?? 0
        if httpStatus != 200 {
            let (status, metadata) = GRPCHeaders.status(from: headers)
            // A response that is not HTTP 200 never succeeds: a grpc-status of OK on it says
            // nothing, and the HTTP status gives the code.
            let hasGRPCStatus = headers.first(name: "grpc-status") != nil && status.code != .ok
            let message = hasGRPCStatus ? status.message : "the server answered HTTP \(httpStatus), not gRPC"
            let code = hasGRPCStatus ? status.code : StatusCode(httpStatus: httpStatus)
            let details = hasGRPCStatus ? status.details : []
            return .invalid(
                RPCError(code, message, trailingMetadata: metadata, details: details), resetStream: !endStream)
        }
        if endStream {
            let (status, metadata) = GRPCHeaders.status(from: headers)
            return .trailersOnly(status: status, metadata: metadata)
        }
        guard GRPCHeaders.isGRPCContentType(headers.first(name: "content-type")) else {
            let contentType = headers.first(name: "content-type") ?? ""
            return .invalid(
                RPCError(.unknown, "the server answered with content-type '\(contentType)', not gRPC"),
                resetStream: true)
        }
        var encoding = CompressionAlgorithm.identity
        if let name = headers.first(name: "grpc-encoding") {
            guard let known = CompressionAlgorithm(encodingName: name) else {
                return .invalid(
                    RPCError(.internal, "the server used grpc-encoding '\(name)', which this client does not support"),
                    resetStream: true
                )
            }
            encoding = known
        }
        switch GRPCHeaders.metadata(from: headers) {
        case .success(let metadata):
            return .headers(metadata: metadata, encoding: encoding)
        case .failure(let error):
            return .invalid(error, resetStream: true)
        }
    }
}
