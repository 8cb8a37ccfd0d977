/// The type-erased entry point of one method: what the router finds for a request path.
struct MethodHandler: Sendable {
    typealias Run = @Sendable (ServerCall, ServerContext) async throws -> Void

    let method: MethodDescriptor
    let run: Run

    var kind: RPCKind { self.method.kind }
}
