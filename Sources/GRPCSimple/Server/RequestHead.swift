import NIOCore
import NIOHPACK

/// The parts of a request's headers a call needs, checked (grpc/grpc `doc/PROTOCOL-HTTP2.md`,
/// "Requests"; `doc/PROTOCOL-WEB.md`; the Connect protocol). Pure: it reads a header block and
/// a router, and touches no I/O.
struct RequestHead {
    var path: String
    var handler: MethodHandler
    var metadata: Metadata
    var timeoutNanoseconds: Int64?
    /// The protocol the call arrived in and how its messages are encoded.
    var format: CallFormat
    /// How the client compresses the messages it flags as compressed (for a Connect unary
    /// call: the whole body).
    var encoding: CompressionAlgorithm
    /// What the client said it can read (`grpc-accept-encoding`, or Connect's
    /// `accept-encoding` and `connect-accept-encoding`), unparsed: only a call whose handler
    /// compresses needs it. Nil when the client said nothing.
    var acceptEncoding: String?
    /// The request's `origin`, when the CORS policy allows it: responses name it.
    var allowedOrigin: String?
    /// The message of a Connect GET request, which travels in the query.
    var queryMessage: ByteBuffer?

    /// What a request's headers call for.
    enum Outcome {
        /// A call, to start.
        case call(RequestHead)
        /// An answer without a call: an error, in the request's protocol when it has one.
        case reject(Rejection)
        /// A CORS preflight (`OPTIONS`), answered with these headers alone.
        case preflight(HPACKHeaders)
    }

    /// Why a request is answered without reaching a handler.
    struct Rejection: Error {
        var httpStatus: Int = 200
        var status: Status
        var acceptEncoding: String?
        /// The request's protocol, when its content-type named one.
        var format: CallFormat = .grpc
        var allowedOrigin: String?
    }

    /// The request headers read in one pass (they are few, and each lookup by name would be a
    /// scan of its own).
    private struct Fields {
        var method: String?
        var path: String?
        var contentType: String?
        var grpcEncoding: String?
        var grpcTimeout: String?
        var grpcAcceptEncoding: String?
        var contentEncoding: String?
        var acceptEncoding: String?
        var connectContentEncoding: String?
        var connectAcceptEncoding: String?
        var connectTimeout: String?
        var connectProtocolVersion: String?
        var origin: String?
        var metadata = Metadata()
        var metadataError: RPCError?

        init(_ headers: HPACKHeaders) {
            // Names are lowercase on the wire: the transports reject or lower uppercase ones.
            for (name, value, _) in headers {
                // By length first: most names are told apart without comparing strings.
                switch name.utf8.count {
                case 5 where name == ":path": if self.path == nil { self.path = value }
                case 7 where name == ":method": if self.method == nil { self.method = value }
                case 12 where name == "content-type": if self.contentType == nil { self.contentType = value }
                case 12 where name == "grpc-timeout": if self.grpcTimeout == nil { self.grpcTimeout = value }
                case 13 where name == "grpc-encoding": if self.grpcEncoding == nil { self.grpcEncoding = value }
                case 20 where name == "grpc-accept-encoding":
                    self.grpcAcceptEncoding = self.grpcAcceptEncoding.map { $0 + "," + value } ?? value
                case 15 where name == "accept-encoding":
                    self.acceptEncoding = self.acceptEncoding.map { $0 + "," + value } ?? value
                case 16 where name == "content-encoding": self.contentEncoding = value
                case 18 where name == "connect-timeout-ms": self.connectTimeout = value
                case 23 where name == "connect-accept-encoding":
                    self.connectAcceptEncoding = self.connectAcceptEncoding.map { $0 + "," + value } ?? value
                case 24 where name == "connect-content-encoding": self.connectContentEncoding = value
                case 24 where name == "connect-protocol-version": self.connectProtocolVersion = value
                default:
                    if name.utf8.count == 6, name == "origin" { self.origin = value }
                    if self.metadataError == nil, !Metadata.isReserved(name) {
                        self.metadataError = GRPCHeaders.appendReceived(name: name, value: value, to: &self.metadata)
                    }
                }
            }
        }
    }

    /// Reads a request's headers, then checks them in the order the protocols' errors need.
    static func parse(_ headers: HPACKHeaders, router: Router, cors: CORSPolicy? = nil) -> Outcome {
        let fields = Fields(headers)
        let allowedOrigin = fields.origin.flatMap { cors?.allows(origin: $0) }
        if fields.method == "OPTIONS", let cors, fields.origin != nil {
            return .preflight(cors.preflightResponse(origin: allowedOrigin, request: headers))
        }
        let format: CallFormat
        let path: String
        var query: ConnectGetRequest?
        switch fields.method {
        case "POST":
            guard let contentType = fields.contentType, let parsed = CallFormat(contentType: contentType) else {
                return .reject(
                    Rejection(
                        httpStatus: 415,
                        status: Status(
                            code: .internal,
                            message: "invalid gRPC request content-type '\(fields.contentType ?? "")'"
                                + " (expected application/grpc, application/grpc-web, application/connect+proto,"
                                + " application/proto or their +json forms)"),
                        allowedOrigin: allowedOrigin
                    ))
            }
            format = parsed
            path = fields.path ?? ""
        case "GET":
            switch ConnectGetRequest.parse(fields.path ?? "") {
            case .failure(let failure):
                return .reject(
                    Rejection(
                        httpStatus: failure.unsupportedMediaType ? 415 : 400,
                        status: Status(code: .invalidArgument, message: failure.message),
                        format: CallFormat(wireProtocol: .connectUnary, codec: .json),
                        allowedOrigin: allowedOrigin
                    ))
            case .success(let get):
                format = CallFormat(wireProtocol: .connectUnary, codec: get.codec)
                path = get.path
                query = get
            }
        default:
            return .reject(
                Rejection(
                    httpStatus: 405,
                    status: Status(
                        code: .internal,
                        message: "gRPC requires the POST method (Connect also GET), got '\(fields.method ?? "")'"),
                    allowedOrigin: allowedOrigin
                ))
        }
        var rejection = Rejection(status: Status.ok, format: format, allowedOrigin: allowedOrigin)
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
            rejection.status = Status(code: .unimplemented, message: message)
            return .reject(rejection)
        }
        if query != nil, handler.kind != .unary || handler.method.idempotency != .noSideEffects {
            rejection.httpStatus = 405
            rejection.status = Status(
                code: .unimplemented,
                message:
                    "\(path) does not take GET requests (only unary methods with idempotency_level = NO_SIDE_EFFECTS"
                    + " do): call it with POST")
            return .reject(rejection)
        }
        if format.wireProtocol.isConnect, query == nil {
            if let version = fields.connectProtocolVersion, version != "1" {
                rejection.status = Status(
                    code: .invalidArgument, message: "connect-protocol-version must be 1, got '\(version)'")
                return .reject(rejection)
            }
            let unary = handler.kind == .unary
            if unary != (format.wireProtocol == .connectUnary) {
                // As connect-go: a unary method takes Connect's unary content-types only, a
                // streaming one its streaming content-types only.
                rejection.httpStatus = 415
                rejection.status = Status(
                    code: .invalidArgument,
                    message:
                        "\(path) is a \(handler.kind) method: Connect calls it with "
                        + (unary ? "application/proto or application/json" : "application/connect+proto or +json")
                        + ", not \(fields.contentType ?? "GET")")
                return .reject(rejection)
            }
        }
        var encodingName: String?
        let acceptEncoding: String?
        switch format.wireProtocol {
        case .grpc, .grpcWeb, .grpcWebText:
            (encodingName, acceptEncoding) = (fields.grpcEncoding, fields.grpcAcceptEncoding)
        case .connectUnary:
            (encodingName, acceptEncoding) = (fields.contentEncoding, fields.acceptEncoding)
        case .connectStreaming:
            (encodingName, acceptEncoding) = (fields.connectContentEncoding, fields.connectAcceptEncoding)
        }
        if let query {
            encodingName = query.compressionName
        }
        var requestEncoding = CompressionAlgorithm.identity
        if let encodingName {
            guard let known = CompressionAlgorithm(encodingName: encodingName) else {
                rejection.status = Status(
                    code: .unimplemented,
                    message:
                        "\(format.compressionHeaders.encoding) '\(encodingName)' is not supported"
                        + " (supported: \(CompressionAlgorithm.acceptEncoding))"
                )
                rejection.acceptEncoding = CompressionAlgorithm.acceptEncoding
                return .reject(rejection)
            }
            requestEncoding = known
        }
        var timeout: Int64?
        if format.wireProtocol.isConnect, let value = fields.connectTimeout {
            // Up to ten digits of milliseconds (the specification's limit).
            guard value.utf8.count <= 10, let milliseconds = Int64(value), milliseconds >= 0 else {
                rejection.status = Status(code: .invalidArgument, message: "malformed connect-timeout-ms '\(value)'")
                return .reject(rejection)
            }
            timeout = milliseconds * 1_000_000
        } else if let value = fields.grpcTimeout {
            guard let parsed = GRPCTimeout.parse(value) else {
                rejection.status = Status(code: .internal, message: "malformed grpc-timeout '\(value)'")
                return .reject(rejection)
            }
            timeout = parsed
        }
        if let metadataError = fields.metadataError {
            rejection.status = Status(metadataError)
            return .reject(rejection)
        }
        return .call(
            RequestHead(
                path: path,
                handler: handler,
                metadata: fields.metadata,
                timeoutNanoseconds: timeout,
                format: format,
                encoding: requestEncoding,
                acceptEncoding: acceptEncoding,
                allowedOrigin: allowedOrigin,
                queryMessage: query.map { ByteBuffer(bytes: $0.message) }
            ))
    }
}
