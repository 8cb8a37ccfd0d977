import SwiftProtobufPluginLibrary

/// Emits a service's namespace: an enum named after the service holding its name and one
/// `MethodDescriptor` per method, which the provider registers, the client calls, and
/// interceptors compare against.
struct ServiceEmitter {
    let service: ServiceDescriptor
    let names: ServiceNames
    let methods: [NamedMethod]
    /// "public " or "" (internal).
    let visibility: String

    func emit(into p: inout CodePrinter) {
        let v = visibility
        p.print("/// The methods of `\(names.fullName)`, as servers, clients and interceptors know them.")
        p.print("\(v)enum \(names.namespace) {")
        p.withIndentation { p in
            p.print("/// The fully qualified name of the service.")
            p.print("\(v)static let name = \"\(names.fullName)\"")
            p.print()
            p.print("/// One descriptor per method.")
            p.print("\(v)enum Method {")
            p.withIndentation { p in
                for (index, method) in methods.enumerated() {
                    if index > 0 { p.print() }
                    let m = method.names
                    let summary = "`\(names.fullName)/\(m.protoName)`, \(m.kind.summary)."
                    p.printComment(proto: method.descriptor.docComment, summary: [summary])
                    // `idempotency_level` travels only when set: servers answer Connect's GET for
                    // NO_SIDE_EFFECTS methods.
                    let idempotency: String
                    switch method.descriptor.options.idempotencyLevel {
                    case .noSideEffects: idempotency = ", idempotency: .noSideEffects"
                    case .idempotent: idempotency = ", idempotency: .idempotent"
                    default: idempotency = ""
                    }
                    p.print(
                        "\(v)static let \(m.function) = MethodDescriptor(service: \"\(names.fullName)\", name: \"\(m.protoName)\", "
                            + "kind: \(m.kind.runtimeCase)\(idempotency))"
                    )
                }
            }
            p.print("}")
            p.print()
            p.print("/// Every method, in the order the .proto file declares them.")
            let all = methods.map { "Method.\($0.names.function)" }.joined(separator: ", ")
            p.print("\(v)static let methods: [MethodDescriptor] = [\(all)]")
        }
        p.print("}")
    }
}

extension RPCKind {
    /// "unary", "server streaming", ...: for doc comments.
    var summary: String {
        switch self {
        case .unary: "unary"
        case .serverStreaming: "server streaming"
        case .clientStreaming: "client streaming"
        case .bidirectionalStreaming: "bidirectional streaming"
        }
    }
}
