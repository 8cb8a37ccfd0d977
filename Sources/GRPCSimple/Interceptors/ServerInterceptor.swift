import SwiftProtobuf

/// Code that runs around every call a server handles: authentication, logging,
/// metrics, tracing.
///
/// A server runs its interceptors in order, the first outermost, and the handler
/// innermost. Each one gets the call and `next`, which runs the rest of the chain:
///
/// ```swift
/// struct Logging: ServerInterceptor {
///     func intercept(_ call: ServerInterceptorCall, next: (ServerInterceptorCall) async throws -> Void) async throws {
///         print("started \(call.path) from \(call.context.peer)")
///         do {
///             try await next(call)
///             print("\(call.path): OK")
///         } catch {
///             print("\(call.path): \(error)")
///             throw error
///         }
///     }
/// }
/// let server = Server(services: [...], interceptors: [Logging()])
/// ```
///
/// - To read or change the request metadata, change `call.metadata` and pass the call on.
/// - To end the call without running the handler, throw an `RPCError` instead of calling
///   `next` (its code and message become the call's status).
/// - To watch messages, register observers (`observeRequests`, `observeResponses`)
///   before calling `next`.
/// - `next` returns when the handler returns (status OK) and throws what the handler
///   threw otherwise: that is the call's final status. An interceptor may throw another
///   error in its place. Task-local values bound around `next` reach the handler.
/// - Call `next` at most once. Returning without calling it (or throwing) ends a
///   server-streaming or bidirectional call with OK and no messages; for the other kinds,
///   which owe the client one response, it is INTERNAL.
public protocol ServerInterceptor: Sendable {
    /// Runs the call: work before, `next(call)` for the rest of the chain, work after.
    func intercept(
        _ call: ServerInterceptorCall,
        next: (ServerInterceptorCall) async throws -> Void
    ) async throws
}

/// What a server interceptor sees of a call, and may change before the handler runs.
public struct ServerInterceptorCall: Sendable {
    /// The method's path, e.g. `/AsillaService/getInfor`.
    public let path: String
    /// Which of the four kinds of RPC this is.
    public let kind: RPCKind
    /// The request metadata. What later interceptors and the handler see is what this
    /// holds when the call is passed on to `next`.
    public var metadata: Metadata
    /// The call's context: the peer, the deadline, and the response metadata the
    /// handler sends.
    public let context: ServerContext
    var observers = MessageObservers()

    init(path: String, kind: RPCKind, metadata: Metadata, context: ServerContext) {
        self.path = path
        self.kind = kind
        self.metadata = metadata
        self.context = context
    }

    /// The service part of the path, e.g. `grpc.health.v1.Health`.
    public var service: String { MethodPath(self.path)?.service ?? "" }
    /// The method part of the path, e.g. `Check`.
    public var method: String { MethodPath(self.path)?.method ?? "" }

    /// Calls `observer` with each request message the handler reads, in order.
    public mutating func observeRequests(_ observer: @escaping @Sendable (any SwiftProtobuf.Message) -> Void) {
        self.observers.observeRequests(observer)
    }

    /// Calls `observer` with each response message the handler sends, in order.
    public mutating func observeResponses(_ observer: @escaping @Sendable (any SwiftProtobuf.Message) -> Void) {
        self.observers.observeResponses(observer)
    }
}

extension Router {
    /// This router with every method wrapped in `interceptors`, the first outermost.
    /// With no interceptors the methods are unchanged: calls pay nothing.
    func intercepted(by interceptors: [any ServerInterceptor]) -> Router {
        guard !interceptors.isEmpty else { return self }
        var router = self
        router.wrapMethods { handler in
            MethodHandler(kind: handler.kind) { call, context in
                let intercepted = ServerInterceptorCall(
                    path: context.path,
                    kind: handler.kind,
                    metadata: context.metadata,
                    context: context
                )
                var handled = false
                try await Self.run(intercepted, through: interceptors[...]) { final in
                    guard !handled else {
                        throw RPCError(.internal, "an interceptor of \(context.path) called next more than once")
                    }
                    handled = true
                    context.metadata = final.metadata
                    var call = call
                    call.observers = final.observers.isEmpty ? nil : final.observers
                    try await handler.run(call, context)
                }
                if !handled && !handler.kind.streamsResponses {
                    // OK without the one response message the client waits for.
                    throw RPCError(.internal, "an interceptor of \(context.path) returned without calling next or throwing")
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
