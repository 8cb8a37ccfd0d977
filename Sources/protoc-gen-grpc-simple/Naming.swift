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

    /// The name of the `Router` / `Channel` method for this kind.
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
    /// e.g. `Grpcsimple_Echo_EchoProvider`.
    let provider: String
    /// e.g. `Grpcsimple_Echo_EchoClient`.
    let client: String

    init(_ service: ServiceDescriptor, namer: SwiftProtobufNamer) {
        // Same prefix rule (package or `swift_prefix`) as messages in the file.
        let base = namer.typePrefix(forFile: service.file) + service.name
        self.fullName = service.fullName
        self.provider = base + "Provider"
        self.client = base + "Client"
    }
}

/// The Swift names of one method.
struct MethodNames {
    let kind: RPCKind
    /// lowerCamelCase, backticked if it is a Swift keyword: `get`, `` `import` ``.
    let function: String
    /// `/<package.>Service/Method`, proto names unchanged.
    let path: String
    /// Swift type of the request message, as protoc-gen-swift names it.
    let input: String
    /// Swift type of the response message, as protoc-gen-swift names it.
    let output: String

    init(_ method: MethodDescriptor, namer: SwiftProtobufNamer) {
        self.kind = RPCKind(method)
        self.function = Self.swiftFunctionName(method.name)
        self.path = "/\(method.service.fullName)/\(method.name)"
        self.input = namer.fullName(message: method.inputType)
        self.output = namer.fullName(message: method.outputType)
    }

    /// Keywords that must be wrapped in backticks to name a function.
    private static let keywords: Set<String> =
        swiftKeywordsUsedInDeclarations
        .union(swiftKeywordsUsedInStatements)
        .union(swiftKeywordsUsedInExpressionsAndTypes)

    static func swiftFunctionName(_ protoName: String) -> String {
        let name = NamingUtils.toLowerCamelCase(protoName)
        return keywords.contains(name) ? "`\(name)`" : name
    }
}
