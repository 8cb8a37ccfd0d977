/// The protocols a call can arrive in, all served on the same port.
///
/// - `grpc`: grpc/grpc `doc/PROTOCOL-HTTP2.md`, over HTTP/2.
/// - `grpcWeb`, `grpcWebText`: grpc/grpc `doc/PROTOCOL-WEB.md`: gRPC's envelopes with the
///   trailers as a last envelope in the body (flag 0x80), over HTTP/1.1 or HTTP/2; the
///   `-text` variant base64-encodes the body both ways.
/// - `connectUnary`, `connectStreaming`: the Connect protocol (connectrpc.com/docs/protocol).
///   A unary call is a plain HTTP request and response (the message is the body, errors are
///   JSON with an HTTP status, trailers are `trailer-` headers); a streaming call uses
///   envelopes, and ends with an end-of-stream envelope (flag 0x02) holding JSON.
enum WireProtocol: Sendable, Hashable {
    case grpc
    case grpcWeb
    case grpcWebText
    case connectUnary
    case connectStreaming

    /// Whether the response's status travels in the body (every protocol but gRPC).
    var statusInBody: Bool { self != .grpc }

    /// Whether this is one of Connect's two forms.
    var isConnect: Bool { self == .connectUnary || self == .connectStreaming }

    /// The name for logs and errors.
    var name: String {
        switch self {
        case .grpc: "gRPC"
        case .grpcWeb: "gRPC-Web"
        case .grpcWebText: "gRPC-Web (text)"
        case .connectUnary: "Connect (unary)"
        case .connectStreaming: "Connect (streaming)"
        }
    }
}
