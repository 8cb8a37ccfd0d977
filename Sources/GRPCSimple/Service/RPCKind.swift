/// The four kinds of RPC, by whether each side sends one message or a stream.
public enum RPCKind: Sendable, Hashable, CustomStringConvertible {
    /// One request, one response.
    case unary
    /// One request, a stream of responses.
    case serverStreaming
    /// A stream of requests, one response.
    case clientStreaming
    /// A stream each way.
    case bidirectionalStreaming

    /// Whether the client sends a stream of requests.
    public var streamsRequests: Bool { self == .clientStreaming || self == .bidirectionalStreaming }
    /// Whether the server sends a stream of responses.
    public var streamsResponses: Bool { self == .serverStreaming || self == .bidirectionalStreaming }

    /// "unary", "server streaming", ...
    public var description: String {
        switch self {
        case .unary: "unary"
        case .serverStreaming: "server streaming"
        case .clientStreaming: "client streaming"
        case .bidirectionalStreaming: "bidirectional streaming"
        }
    }
}
