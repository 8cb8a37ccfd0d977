import SwiftProtobufPluginLibrary

/// Emits the server side of a service: the `<Service>Provider` protocol with
/// one requirement per method, and an extension that registers each method's
/// handler with the `Router`.
struct ProviderEmitter {
    let service: ServiceDescriptor
    let names: ServiceNames
    let methods: [NamedMethod]
    /// "public " or "" (internal).
    let visibility: String
    /// The file's `<Prefix><File>_FileDescriptors` enum (see `DescriptorEmitter`).
    let descriptorsEnum: String

    func emit(into p: inout CodePrinter) {
        p.printComment(
            proto: service.docComment,
            summary: [
                "The server side of `\(names.fullName)`: implement these methods and pass the",
                "value to `Server(services:)`.",
            ]
        )
        p.print("\(visibility)protocol \(names.provider): GRPCService {")
        p.withIndentation { p in
            for (index, method) in methods.enumerated() {
                if index > 0 { p.print() }
                p.printComment(method.descriptor.docComment)
                p.print(requirement(method.names))
            }
        }
        p.print("}")
        p.print()
        p.print("extension \(names.provider) {")
        p.withIndentation { p in
            p.print("/// The fully qualified name of the service.")
            p.print("\(visibility)static var serviceName: String { \(names.namespace).name }")
            p.print()
            p.print("/// The descriptors of this service's .proto file and its imports, for server reflection.")
            p.print("\(visibility)static var protoFileDescriptors: [ProtoFileDescriptor] { \(descriptorsEnum).all }")
            p.print()
            p.print("/// Registers each method's handler with the router.")
            p.print("\(visibility)func register(with router: inout Router) {")
            p.withIndentation { p in
                for method in methods {
                    printRegistration(method.names, into: &p)
                }
            }
            p.print("}")
        }
        p.print("}")
    }

    /// The protocol requirement the user implements.
    private func requirement(_ m: MethodNames) -> String {
        switch m.kind {
        case .unary:
            return "func \(m.function)(request: \(m.input), context: ServerContext) async throws -> \(m.output)"
        case .serverStreaming:
            return "func \(m.function)(request: \(m.input), responses: ResponseWriter<\(m.output)>, "
                + "context: ServerContext) async throws"
        case .clientStreaming:
            return "func \(m.function)(requests: RequestStream<\(m.input)>, context: ServerContext) "
                + "async throws -> \(m.output)"
        case .bidirectionalStreaming:
            return "func \(m.function)(requests: RequestStream<\(m.input)>, "
                + "responses: ResponseWriter<\(m.output)>, context: ServerContext) async throws"
        }
    }

    /// `router.<kind>("/path") { (...) in try await self.method(...) }`
    private func printRegistration(_ m: MethodNames, into p: inout CodePrinter) {
        let parameters: String
        let arguments: String
        switch m.kind {
        case .unary:
            parameters = "request: \(m.input), context"
            arguments = "request: request, context: context"
        case .serverStreaming:
            parameters = "request: \(m.input), responses: ResponseWriter<\(m.output)>, context"
            arguments = "request: request, responses: responses, context: context"
        case .clientStreaming:
            parameters = "requests: RequestStream<\(m.input)>, context"
            arguments = "requests: requests, context: context"
        case .bidirectionalStreaming:
            parameters = "requests: RequestStream<\(m.input)>, responses: ResponseWriter<\(m.output)>, context"
            arguments = "requests: requests, responses: responses, context: context"
        }
        p.print("router.\(m.kind.runtimeMethodName)(\(m.descriptor(in: names))) { (\(parameters)) in")
        p.printIndented("try await self.\(m.function)(\(arguments))")
        p.print("}")
    }
}
