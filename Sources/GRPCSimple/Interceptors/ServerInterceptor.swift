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
