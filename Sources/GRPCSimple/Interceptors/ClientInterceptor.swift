/// Code that runs around every call a channel makes: adding metadata, logging,
/// metrics, tracing.
///
/// A channel runs its interceptors (`GRPCChannel.Configuration.interceptors`) in order, the
/// first outermost; the innermost `next` starts the call on the wire and returns when
/// the call has ended:
///
/// ```swift
/// struct RequestID: ClientInterceptor {
///     func intercept(_ call: ClientInterceptorCall, next: (ClientInterceptorCall) async throws -> Void) async throws {
///         var call = call
///         call.metadata.add("x-request-id", UUID().uuidString)
///         try await next(call)
///     }
/// }
/// ```
///
/// - To change what is sent, change `call.metadata` (or `call.options`: timeout,
///   deadline, compression) and pass the call on.
/// - To fail the call without sending it, throw an `RPCError` instead of calling `next`.
/// - To watch messages, register observers (`observeRequests`, `observeResponses`)
///   before calling `next`.
/// - `next` returns when the call ends with OK and throws its `RPCError` otherwise: that
///   is the call's final status. Call it at most once. Once it has run, the caller gets
///   the call's own result, whatever the interceptor does next; an interceptor's error
///   reaches the caller only when it fails the call before calling `next`.
/// - Response observers run as the caller reads the responses (for streaming calls,
///   possibly after `next` has returned).
///
/// The chain runs in a task of its own, which inherits the caller's task-local values
/// and is cancelled if the call ends (deadline, cancellation) before the chain has
/// started it; a streaming call's requests wait until the chain has started the call.
public protocol ClientInterceptor: Sendable {
    /// Runs the call: work before, `next(call)` to start it and wait for its end, work after.
    func intercept(
        _ call: ClientInterceptorCall,
        next: (ClientInterceptorCall) async throws -> Void
    ) async throws
}
