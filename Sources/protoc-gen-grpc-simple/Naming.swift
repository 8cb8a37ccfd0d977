import SwiftProtobufPluginLibrary

/// The four call shapes, from the `stream` markers on the request/response.
enum RPCKind {
    case unary
    case serverStreaming
    case clientStreaming
    case bidirectionalStreaming

    init(_ method: MethodDescriptor) {
        switch (method.clientStreaming, method.serverStreaming) {
        case (false, false): self = .unary
        case (false, true): self = .serverStreaming
        case (true, false): self = .clientStreaming
        case (true, true): self = .bidirectionalStreaming
        }
    }

    /// The `RPCKind` case in generated code.
    var runtimeCase: String {
        switch self {
        case .unary: ".unary"
        case .serverStreaming: ".serverStreaming"
        case .clientStreaming: ".clientStreaming"
        case .bidirectionalStreaming: ".bidirectionalStreaming"
        }
    }

    /// The name of the `Router` / `GRPCChannel` method for this kind.
    var runtimeMethodName: String {
        switch self {
        case .unary: "unary"
        case .serverStreaming: "serverStreaming"
        case .clientStreaming: "clientStreaming"
        case .bidirectionalStreaming: "bidirectionalStreaming"
        }
    }
}

/// The Swift names of one service.
struct ServiceNames {
    /// Proto full name, e.g. `grpcsimple.echo.Echo`.
    let fullName: String
    /// The namespace enum holding the method descriptors, e.g. `Grpcsimple_Echo_Echo`.
    let namespace: String
    /// e.g. `Grpcsimple_Echo_EchoProvider`.
    let provider: String
    /// e.g. `Grpcsimple_Echo_EchoClientProtocol`.
    let clientProtocol: String
    /// e.g. `Grpcsimple_Echo_EchoClient`.
    let client: String

    init(_ service: ServiceDescriptor, namer: SwiftProtobufNamer) {
        // Same prefix rule (package or `swift_prefix`) as messages in the file.
        let base = namer.typePrefix(forFile: service.file) + service.name
        self.fullName = service.fullName
        self.namespace = base
        self.provider = base + "Provider"
        self.clientProtocol = base + "ClientProtocol"
        self.client = base + "Client"
    }
}

/// The Swift names of one method.
struct MethodNames {
    let kind: RPCKind
    /// lowerCamelCase, backticked if it is a Swift keyword: `get`, `` `import` ``.
    let function: String
    /// The method's name as the .proto spells it, e.g. `Get`.
    let protoName: String
    /// The `…WithMetadata` variant of a unary or client-streaming method, e.g. `getWithMetadata`.
    let functionWithMetadata: String
    /// Swift type of the request message, as protoc-gen-swift names it.
    let input: String
    /// Swift type of the response message, as protoc-gen-swift names it.
    let output: String

    init(_ method: MethodDescriptor, namer: SwiftProtobufNamer) {
        self.kind = RPCKind(method)
        self.function = Self.swiftFunctionName(method.name)
        self.protoName = method.name
        self.functionWithMetadata = NamingUtils.toLowerCamelCase(method.name) + "WithMetadata"
        self.input = namer.fullName(message: method.inputType)
        self.output = namer.fullName(message: method.outputType)
    }

    /// Keywords that must be wrapped in backticks to name a function.
    private static let keywords: Set<String> =
        swiftKeywordsUsedInDeclarations
        .union(swiftKeywordsUsedInStatements)
        .union(swiftKeywordsUsedInExpressionsAndTypes)

    /// The descriptor's property in the service's `Method` enum, e.g. `Echo.Method.get`.
    func descriptor(in service: ServiceNames) -> String {
        "\(service.namespace).Method.\(self.function)"
    }

    static func swiftFunctionName(_ protoName: String) -> String {
        let name = NamingUtils.toLowerCamelCase(protoName)
        return keywords.contains(name) ? "`\(name)`" : name
    }
}
