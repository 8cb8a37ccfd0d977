/// The protocol and message encoding of one call, told by its request's content-type.
///
/// | content-type | protocol | codec |
/// |---|---|---|
/// | `application/grpc`, `application/grpc+proto`, `application/grpc+json` | gRPC | proto, json |
/// | `application/grpc-web`, `+proto`, `+json` | gRPC-Web | proto, json |
/// | `application/grpc-web-text`, `+proto`, `+json` | gRPC-Web text | proto, json |
/// | `application/proto`, `application/json` | Connect unary | proto, json |
/// | `application/connect+proto`, `application/connect+json` | Connect streaming | proto, json |
///
/// Compared without regard to ASCII case; parameters after `;` (such as `charset=utf-8`)
/// are ignored.
struct CallFormat: Sendable, Hashable {
    var wireProtocol: WireProtocol
    var codec: MessageCodec

    /// gRPC with protobuf messages: the format of nearly every call, found without parsing.
    static let grpc = CallFormat(wireProtocol: .grpc, codec: .protobuf)

    /// The format a request's content-type names; nil for any other content-type.
    init?(contentType value: String) {
        if value == GRPCHeaders.contentType {
            self = .grpc
            return
        }
        var mediaType = Substring(value)
        if let semicolon = mediaType.firstIndex(of: ";") {
            mediaType = mediaType[..<semicolon]
        }
        let lowered = mediaType.trimmingSpaces.lowercased()
        guard lowered.hasPrefix("application/") else { return nil }
        let subtype = lowered.dropFirst("application/".count)
        let base: Substring
        let codecName: Substring?
        if let plus = subtype.firstIndex(of: "+") {
            base = subtype[..<plus]
            codecName = subtype[subtype.index(after: plus)...]
        } else {
            base = subtype
            codecName = nil
        }
        switch base {
        case "grpc": self.wireProtocol = .grpc
        case "grpc-web": self.wireProtocol = .grpcWeb
        case "grpc-web-text": self.wireProtocol = .grpcWebText
        case "connect":
            guard codecName != nil else { return nil }
            self.wireProtocol = .connectStreaming
        case "proto", "json":
            guard codecName == nil else { return nil }
            self.wireProtocol = .connectUnary
            self.codec = base == "json" ? .json : .protobuf
            return
        default: return nil
        }
        switch codecName {
        case nil, "proto": self.codec = .protobuf
        case "json": self.codec = .json
        default: return nil
        }
    }

    init(wireProtocol: WireProtocol, codec: MessageCodec) {
        self.wireProtocol = wireProtocol
        self.codec = codec
    }

    /// The content-type of the response.
    var responseContentType: String {
        switch (self.wireProtocol, self.codec) {
        case (.grpc, .protobuf): GRPCHeaders.contentType
        case (.grpc, .json): "application/grpc+json"
        case (.grpcWeb, let codec): "application/grpc-web+" + codec.name
        case (.grpcWebText, let codec): "application/grpc-web-text+" + codec.name
        case (.connectUnary, let codec): "application/" + codec.name
        case (.connectStreaming, let codec): "application/connect+" + codec.name
        }
    }

    /// The name of the header that says how response messages are compressed, and of the
    /// request header that says what the client can read.
    var compressionHeaders: (encoding: String, acceptEncoding: String) {
        switch self.wireProtocol {
        case .grpc, .grpcWeb, .grpcWebText: ("grpc-encoding", "grpc-accept-encoding")
        case .connectUnary: ("content-encoding", "accept-encoding")
        case .connectStreaming: ("connect-content-encoding", "connect-accept-encoding")
        }
    }
}
