/// The type-erased entry point of one method: what the router finds for a request path.
struct MethodHandler: Sendable {
    typealias Run = @Sendable (ServerCall, ServerContext) async throws -> Void

    let method: MethodDescriptor
    let run: Run
    /// The method's A66 instruments when the server records metrics: found once, when the
    /// server is made, rather than by path on every call.
    var metrics: MethodMetrics? = nil

    var kind: RPCKind { self.method.kind }
}
