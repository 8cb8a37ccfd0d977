import NIOHPACK

/// The parts of a request's headers a call needs, checked (grpc/grpc
/// `doc/PROTOCOL-HTTP2.md`, "Requests"). Pure: it reads a header block and a router, and
/// touches no I/O.
struct RequestHead {
    var path: String
    var handler: MethodHandler
    var metadata: Metadata
    var timeoutNanoseconds: Int64?
    /// How the client compresses the messages it flags as compressed.
    var encoding: CompressionAlgorithm
    /// What the client said it can read (`grpc-accept-encoding`), unparsed: only a call
    /// whose handler compresses needs it. Nil when the client said nothing.
    var acceptEncoding: String?

    /// Why a request is answered without reaching a handler.
    struct Rejection: Error {
        var httpStatus: Int = 200
        var status: Status
        var acceptEncoding: String?

        /// The trailers-only response that answers the request.
        var responseHeaders: HPACKHeaders {
            var block: HPACKHeaders = [":status": String(self.httpStatus), "content-type": GRPCHeaders.contentType]
            block.add(contentsOf: GRPCHeaders.trailers(status: self.status, metadata: [:]))
            if let accept = self.acceptEncoding {
                block.add(name: "grpc-accept-encoding", value: accept)
            }
            return block
        }
    }

    /// Reads the request headers in one pass (they are few, and each lookup by name
    /// would be a scan of its own), then checks them in the order the spec's errors need.
    static func parse(_ headers: HPACKHeaders, router: Router) -> Result<RequestHead, Rejection> {
        // Names are lowercase on the wire: NIOHTTP2 rejects header blocks with uppercase names.
        var method: String?
        var pathValue: String?
        var contentType: String?
        var encoding: String?
        var timeoutValue: String?
        var acceptEncoding: String?
        var metadata = Metadata()
        var metadataError: RPCError?
        for (name, value, _) in headers {
            // By length first: most names are told apart without comparing strings.
            switch name.utf8.count {
            case 5 where name == ":path": if pathValue == nil { pathValue = value }
            case 7 where name == ":method": if method == nil { method = value }
            case 12 where name == "content-type": if contentType == nil { contentType = value }
            case 12 where name == "grpc-timeout": if timeoutValue == nil { timeoutValue = value }
            case 13 where name == "grpc-encoding": if encoding == nil { encoding = value }
            case 20 where name == "grpc-accept-encoding":
                acceptEncoding = acceptEncoding.map { $0 + "," + value } ?? value
            default:
                if metadataError == nil, !Metadata.isReserved(name) {
                    metadataError = GRPCHeaders.appendReceived(name: name, value: value, to: &metadata)
                }
            }
        }

        guard method == "POST" else {
            return .failure(
                Rejection(
                    httpStatus: 405,
                    status: Status(code: .internal, message: "gRPC requires the POST method, got '\(method ?? "")'")
                ))
        }
        guard GRPCHeaders.isGRPCContentType(contentType) else {
            return .failure(
                Rejection(
                    httpStatus: 415,
                    status: Status(code: .internal, message: "invalid gRPC request content-type '\(contentType ?? "")'")
                ))
        }
        let path = pathValue ?? ""
        guard let handler = router.handler(for: path) else {
            let message: String
            if let parsed = MethodPath(path) {
                message =
                    router.hasService(parsed.service)
                    ? "unknown method \(parsed.method) for service \(parsed.service)"
                    : "unknown service \(parsed.service)"
            } else {
                message = "malformed method path '\(path)'"
            }
            return .failure(Rejection(status: Status(code: .unimplemented, message: message)))
        }
        var requestEncoding = CompressionAlgorithm.identity
        if let encoding {
            guard let known = CompressionAlgorithm(encodingName: encoding) else {
                return .failure(
                    Rejection(
                        status: Status(
                            code: .unimplemented,
                            message:
                                "grpc-encoding '\(encoding)' is not supported (supported: \(CompressionAlgorithm.acceptEncoding))"
                        ),
                        acceptEncoding: CompressionAlgorithm.acceptEncoding
                    ))
            }
            requestEncoding = known
        }
        var timeout: Int64?
        if let timeoutValue {
            guard let parsed = GRPCTimeout.parse(timeoutValue) else {
                return .failure(
                    Rejection(status: Status(code: .internal, message: "malformed grpc-timeout '\(timeoutValue)'")))
            }
            timeout = parsed
        }
        if let metadataError {
            return .failure(Rejection(status: Status(metadataError)))
        }
        return .success(
            RequestHead(
                path: path,
                handler: handler,
                metadata: metadata,
                timeoutNanoseconds: timeout,
                encoding: requestEncoding,
                acceptEncoding: acceptEncoding
            ))
    }
}
