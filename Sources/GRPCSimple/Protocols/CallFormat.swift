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

    /// Every format, in `index` order.
    static let all: [CallFormat] = [WireProtocol.grpc, .grpcWeb, .grpcWebText, .connectUnary, .connectStreaming]
        .flatMap { wireProtocol in
            [MessageCodec.protobuf, .json].map { CallFormat(wireProtocol: wireProtocol, codec: $0) }
        }

    /// A small number for tables of per-format values (`all[index] == self`).
    var index: Int {
        let base: Int
        switch self.wireProtocol {
        case .grpc: base = 0
        case .grpcWeb: base = 2
        case .grpcWebText: base = 4
        case .connectUnary: base = 6
        case .connectStreaming: base = 8
        }
        return base + (self.codec == .protobuf ? 0 : 1)
    }

    /// The format a request's content-type names; nil for any other content-type.
    init?(contentType value: String) {
        // The content-types clients send, spelled as they send them, found without parsing.
        switch value {
        case GRPCHeaders.contentType, "application/grpc+proto":
            self = .grpc
            return
        case "application/grpc-web+proto", "application/grpc-web":
            self = CallFormat(wireProtocol: .grpcWeb, codec: .protobuf)
            return
        case "application/grpc-web-text", "application/grpc-web-text+proto":
            self = CallFormat(wireProtocol: .grpcWebText, codec: .protobuf)
            return
        case "application/proto":
            self = CallFormat(wireProtocol: .connectUnary, codec: .protobuf)
            return
        case "application/json":
            self = CallFormat(wireProtocol: .connectUnary, codec: .json)
            return
        case "application/connect+proto":
            self = CallFormat(wireProtocol: .connectStreaming, codec: .protobuf)
            return
        default:
            break
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
