import SwiftProtobufPluginLibrary

/// Emits the client side of a service:
/// - `<Service>ClientProtocol`, one requirement per method (plus a `…WithMetadata` one for
///   unary and client-streaming methods, with a default), so code using a client can be
///   tested with a fake;
/// - an extension with the same calls without `options:` (the defaults);
/// - `<Service>Client`, the struct that makes the calls over a `GRPCChannel`.
struct ClientEmitter {
    let service: ServiceDescriptor
    let names: ServiceNames
    let methods: [NamedMethod]
    /// "public " or "" (internal).
    let visibility: String

    func emit(into p: inout CodePrinter) {
        let v = visibility
        p.printComment(
            proto: service.docComment,
            summary: [
                "The client side of `\(names.fullName)`, as a protocol: `\(names.client)` makes the calls",
                "over a channel; a fake conforming to it stands in for the server in tests.",
            ]
        )
        p.print("\(v)protocol \(names.clientProtocol): Sendable {")
        p.withIndentation { p in
            for (index, method) in methods.enumerated() {
                if index > 0 { p.print() }
                p.printComment(method.descriptor.docComment)
                p.print(signature(method.names, defaults: false, publicPrefix: ""))
                if let metadataSignature = signatureWithMetadata(method.names, defaults: false, publicPrefix: "") {
                    p.print()
                    p.print(
                        "/// Like `\(method.names.function)`, also returning the response's metadata and trailing metadata."
                    )
                    p.print(metadataSignature)
                }
            }
        }
        p.print("}")
        p.print()
        p.print("extension \(names.clientProtocol) {")
        p.withIndentation { p in
            for (index, method) in methods.enumerated() {
                if index > 0 { p.print() }
                printConveniences(method.names, into: &p)
            }
        }
        p.print("}")
        p.print()
        p.printComment(
            proto: service.docComment,
            summary: ["The client side of `\(names.fullName)`: calls its methods over a `GRPCChannel`."]
        )
        p.print("\(v)struct \(names.client): \(names.clientProtocol) {")
        p.withIndentation { p in
            p.print("/// The channel the calls go over.")
            p.print("\(v)let channel: GRPCChannel")
            p.print()
            p.print("/// A client making its calls over `channel`.")
            p.print("\(v)init(channel: GRPCChannel) {")
            p.printIndented("self.channel = channel")
            p.print("}")
            for method in methods {
                p.print()
                p.printComment(method.descriptor.docComment)
                printCall(method.names, withMetadata: false, into: &p)
                if signatureWithMetadata(method.names, defaults: false, publicPrefix: "") != nil {
                    p.print()
                    p.print(
                        "/// Like `\(method.names.function)`, also returning the response's metadata and trailing metadata."
                    )
                    printCall(method.names, withMetadata: true, into: &p)
                }
            }
        }
        p.print("}")
    }

    /// The method's declaration, without a body. `defaults`: without the `options:`
    /// parameter (the extension's convenience).
    private func signature(_ m: MethodNames, defaults: Bool, publicPrefix: String) -> String {
        let options = defaults ? "" : "options: CallOptions"
        switch m.kind {
        case .unary:
            return "\(publicPrefix)func \(m.function)(_ request: \(m.input)\(defaults ? "" : ", \(options)")) "
                + "async throws -> \(m.output)"
        case .serverStreaming:
            return "\(publicPrefix)func \(m.function)(_ request: \(m.input)\(defaults ? "" : ", \(options)")) "
                + "-> ResponseStream<\(m.output)>"
        case .clientStreaming:
            return "\(publicPrefix)func \(m.function)(\(defaults ? "" : "\(options), ")"
                + "requests: (RequestWriter<\(m.input)>) async throws -> Void) async throws -> \(m.output)"
        case .bidirectionalStreaming:
            let result = Self.genericResultName(avoiding: [m.input, m.output])
            return "\(publicPrefix)func \(m.function)<\(result)>(\(defaults ? "" : "\(options), ")"
                + "_ body: (RequestWriter<\(m.input)>, ResponseStream<\(m.output)>) async throws -> \(result)) "
                + "async throws -> \(result)"
        }
    }

    /// The `…WithMetadata` declaration of a unary or client-streaming method; nil for the
    /// others (their `ResponseStream` carries the metadata).
    private func signatureWithMetadata(_ m: MethodNames, defaults: Bool, publicPrefix: String) -> String? {
        let options = defaults ? "" : "options: CallOptions"
        switch m.kind {
        case .unary:
            return
                "\(publicPrefix)func \(m.functionWithMetadata)(_ request: \(m.input)\(defaults ? "" : ", \(options)")) "
                + "async throws -> UnaryResponse<\(m.output)>"
        case .clientStreaming:
            return "\(publicPrefix)func \(m.functionWithMetadata)(\(defaults ? "" : "\(options), ")"
                + "requests: (RequestWriter<\(m.input)>) async throws -> Void) async throws -> UnaryResponse<\(m.output)>"
        case .serverStreaming, .bidirectionalStreaming:
            return nil
        }
    }

    /// The extension's methods: each call with the default options, and the default
    /// `…WithMetadata` (the message, no metadata) that a fake gets for free.
    private func printConveniences(_ m: MethodNames, into p: inout CodePrinter) {
        let v = visibility
        p.print("/// `\(m.function)` with the default call options.")
        p.print(signature(m, defaults: true, publicPrefix: v) + " {")
        switch m.kind {
        case .unary, .serverStreaming:
            let call = "self.\(m.function)(request, options: .defaults)"
            p.printIndented(m.kind == .unary ? "try await \(call)" : call)
        case .clientStreaming:
            p.printIndented("try await self.\(m.function)(options: .defaults, requests: requests)")
        case .bidirectionalStreaming:
            p.printIndented("try await self.\(m.function)(options: .defaults, body)")
        }
        p.print("}")
        guard let withDefaults = signatureWithMetadata(m, defaults: true, publicPrefix: v),
            let full = signatureWithMetadata(m, defaults: false, publicPrefix: v)
        else { return }
        p.print()
        p.print("/// `\(m.functionWithMetadata)` with the default call options.")
        p.print(withDefaults + " {")
        if m.kind == .unary {
            p.printIndented("try await self.\(m.functionWithMetadata)(request, options: .defaults)")
        } else {
            p.printIndented("try await self.\(m.functionWithMetadata)(options: .defaults, requests: requests)")
        }
        p.print("}")
        p.print()
        p.print("/// The response without metadata: what a fake that only implements `\(m.function)` returns.")
        p.print(full + " {")
        if m.kind == .unary {
            p.printIndented("UnaryResponse(message: try await self.\(m.function)(request, options: options))")
        } else {
            p.printIndented(
                "UnaryResponse(message: try await self.\(m.function)(options: options, requests: requests))")
        }
        p.print("}")
    }

    /// The client struct's implementation of a requirement.
    private func printCall(_ m: MethodNames, withMetadata: Bool, into p: inout CodePrinter) {
        let v = visibility
        let descriptor = m.descriptor(in: names)
        if withMetadata {
            p.print(signatureWithMetadata(m, defaults: false, publicPrefix: v)! + " {")
            if m.kind == .unary {
                p.printIndented(
                    "try await self.channel.unaryWithMetadata(\(descriptor), request: request, options: options)")
            } else {
                p.printIndented(
                    "try await self.channel.clientStreamingWithMetadata(\(descriptor), options: options, requests: requests)"
                )
            }
            p.print("}")
            return
        }
        p.print(signature(m, defaults: false, publicPrefix: v) + " {")
        switch m.kind {
        case .unary:
            p.printIndented("try await self.channel.unary(\(descriptor), request: request, options: options)")
        case .serverStreaming:
            p.printIndented("self.channel.serverStreaming(\(descriptor), request: request, options: options)")
        case .clientStreaming:
            p.printIndented(
                "try await self.channel.clientStreaming(\(descriptor), options: options, requests: requests)")
        case .bidirectionalStreaming:
            p.printIndented("try await self.channel.bidirectionalStreaming(\(descriptor), options: options, body)")
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
