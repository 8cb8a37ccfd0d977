extension Router {
    /// This router with every method wrapped in `interceptors`, the first outermost.
    /// With no interceptors the methods are unchanged: calls pay nothing.
    func intercepted(by interceptors: [any ServerInterceptor]) -> Router {
        guard !interceptors.isEmpty else { return self }
        var router = self
        router.wrapMethods { handler in
            MethodHandler(method: handler.method) { call, context in
                let intercepted = ServerInterceptorCall(
                    method: handler.method, metadata: context.metadata, context: context)
                var handled = false
                try await Self.run(intercepted, through: interceptors[...]) { final in
                    guard !handled else {
                        throw RPCError(.internal, "an interceptor of \(handler.method) called next more than once")
                    }
                    handled = true
                    context.metadata = final.metadata
                    var call = call
                    call.observers = final.observers.isEmpty ? nil : final.observers
                    try await handler.run(call, context)
                }
                if !handled && !handler.kind.streamsResponses {
                    // OK without the one response message the client waits for.
                    throw RPCError(
                        .internal, "an interceptor of \(handler.method) returned without calling next or throwing")
                }
            }
        }
        return router
    }

    private static func run(
        _ call: ServerInterceptorCall,
        through interceptors: ArraySlice<any ServerInterceptor>,
        handler: (ServerInterceptorCall) async throws -> Void
    ) async throws {
        guard let first = interceptors.first else {
            return try await handler(call)
        }
        try await first.intercept(call) { next in
            try await Self.run(next, through: interceptors.dropFirst(), handler: handler)
        }
    }
}
