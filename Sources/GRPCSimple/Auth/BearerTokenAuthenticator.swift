/// A server interceptor that lets a call through only with a bearer token your closure
/// accepts (`authorization: Bearer <token>`, as `CallCredentials.bearerToken` sends).
///
/// ```swift
/// let auth = BearerTokenAuthenticator(exemptServices: ["grpc.health.v1.Health"]) { token, call in
///     guard let user = users[token] else { return nil }          // UNAUTHENTICATED
///     guard user.mayCall(call.path) else {
///         throw RPCError(.permissionDenied, "\(user.name) may not call \(call.method)")
///     }
///     return user.name                                           // context.principal
/// }
/// let server = Server(services: [...], interceptors: [auth])
/// ```
///
/// A call without the header, with another scheme, or with a token the closure returns
/// nil for ends with UNAUTHENTICATED before its handler runs. The closure throws
/// `RPCError(.permissionDenied, ...)` for a known caller who may not make the call. The
/// name it returns is the handler's `context.principal`.
public struct BearerTokenAuthenticator: ServerInterceptor {
    private let exemptServices: Set<String>
    private let validate: @Sendable (_ token: String, _ call: ServerInterceptorCall) async throws -> String?

    /// - Parameters:
    ///   - exemptServices: Services served without a token, e.g. `grpc.health.v1.Health`
    ///     for load balancers and Kubernetes probes, which send none.
    ///   - validate: Returns who the token belongs to, or nil to reject it.
    public init(
        exemptServices: Set<String> = [],
        validate: @escaping @Sendable (_ token: String, _ call: ServerInterceptorCall) async throws -> String?
    ) {
        self.exemptServices = exemptServices
        self.validate = validate
    }

    /// Checks the call's bearer token (unless its service is exempt) and sets the principal.
    public func intercept(
        _ call: ServerInterceptorCall,
        next: (ServerInterceptorCall) async throws -> Void
    ) async throws {
        if self.exemptServices.contains(call.method.service) {
            return try await next(call)
        }
        guard let header = call.metadata["authorization"] else {
            throw RPCError(
                .unauthenticated, "\(call.method) needs a bearer token: send 'authorization: Bearer <token>'")
        }
        guard let token = Self.bearerToken(in: header) else {
            throw RPCError(.unauthenticated, "the authorization metadata of \(call.method) is not 'Bearer <token>'")
        }
        guard let principal = try await self.validate(token, call) else {
            throw RPCError(.unauthenticated, "the bearer token sent to \(call.method) was not accepted")
        }
        call.context.principal = principal
        try await next(call)
    }

    /// The token of an `authorization` value, if its scheme is Bearer (any case, RFC 6750).
    static func bearerToken(in header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].drop(while: { $0 == " " })
        return token.isEmpty ? nil : String(token)
    }
}
