import SwiftProtobufPluginLibrary

/// Emits the client side of a service: the `<Service>Client` struct with one
/// method per RPC, each forwarding to the matching `Channel` call.
struct ClientEmitter {
    let service: ServiceDescriptor
    let names: ServiceNames
    let methods: [NamedMethod]
    /// "public " or "" (internal).
    let visibility: String

    func emit(into p: inout CodePrinter) {
        p.printComment(
            proto: service.docComment,
            summary: ["The client side of `\(names.fullName)`: calls its methods over a `Channel`."]
        )
        p.print("\(visibility)struct \(names.client): Sendable {")
        p.withIndentation { p in
            p.print("/// The channel the calls go over.")
            p.print("\(visibility)let channel: Channel")
            p.print()
            p.print("\(visibility)init(channel: Channel) {")
            p.printIndented("self.channel = channel")
            p.print("}")
            for method in methods {
                p.print()
                p.printComment(method.descriptor.docComment)
                printMethod(method.names, into: &p)
            }
        }
        p.print("}")
    }

    private func printMethod(_ m: MethodNames, into p: inout CodePrinter) {
        let v = visibility
        let path = "\"\(m.path)\""
        switch m.kind {
        case .unary:
            p.print(
                "\(v)func \(m.function)(_ request: \(m.input), options: CallOptions = .defaults) "
                    + "async throws -> \(m.output) {"
            )
            p.printIndented("try await self.channel.unary(path: \(path), request: request, options: options)")
        case .serverStreaming:
            p.print(
                "\(v)func \(m.function)(_ request: \(m.input), options: CallOptions = .defaults) "
                    + "-> ResponseStream<\(m.output)> {"
            )
            p.printIndented("self.channel.serverStreaming(path: \(path), request: request, options: options)")
        case .clientStreaming:
            p.print(
                "\(v)func \(m.function)(options: CallOptions = .defaults, "
                    + "requests: (RequestWriter<\(m.input)>) async throws -> Void) async throws -> \(m.output) {"
            )
            p.printIndented(
                "try await self.channel.clientStreaming(path: \(path), options: options, requests: requests)"
            )
        case .bidirectionalStreaming:
            let result = Self.genericResultName(avoiding: [m.input, m.output])
            p.print(
                "\(v)func \(m.function)<\(result)>(options: CallOptions = .defaults, "
                    + "_ body: (RequestWriter<\(m.input)>, ResponseStream<\(m.output)>) async throws -> \(result)) "
                    + "async throws -> \(result) {"
            )
            p.printIndented(
                "try await self.channel.bidirectionalStreaming(path: \(path), options: options, body)"
            )
        }
        p.print("}")
    }

    /// The name of the bidirectional call's generic result: `Output`, unless
    /// a message type used by the call starts with that name (it would be
    /// shadowed by the generic parameter).
    static func genericResultName(avoiding typeNames: [String]) -> String {
        let candidates = ["Output", "BodyOutput", "CallOutput"]
        let used = Set(typeNames.map { $0.split(separator: ".").first.map(String.init) ?? $0 })
        return candidates.first { !used.contains($0) } ?? "GRPCSimpleBodyOutput"
    }
}
