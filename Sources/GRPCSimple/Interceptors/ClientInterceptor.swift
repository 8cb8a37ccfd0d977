import NIOCore
import Synchronization
import SwiftProtobuf

/// Code that runs around every call a channel makes: adding metadata, logging,
/// metrics, tracing.
///
/// A channel runs its interceptors (`Channel.Configuration.interceptors`) in order, the
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

/// What a client interceptor sees of a call, and may change before it starts.
public struct ClientInterceptorCall: Sendable {
    /// The method's path, e.g. `/AsillaService/getInfor`.
    public let path: String
    /// Which of the four kinds of RPC this is.
    public let kind: RPCKind
    /// The call's options. Its metadata, timeout, deadline, compression and credentials
    /// are read when the call starts, after every interceptor; `waitForReady` and
    /// `maximumReceiveMessageSize` apply as the call was made with them.
    public var options: CallOptions
    var observers = MessageObservers()

    init(path: String, kind: RPCKind, options: CallOptions) {
        self.path = path
        self.kind = kind
        self.options = options
    }

    /// The metadata sent with the request headers (`options.metadata`).
    public var metadata: Metadata {
        get { self.options.metadata }
        set { self.options.metadata = newValue }
    }

    /// Calls `observer` with each request message sent, in order.
    public mutating func observeRequests(_ observer: @escaping @Sendable (any SwiftProtobuf.Message) -> Void) {
        self.observers.observeRequests(observer)
    }

    /// Calls `observer` with each response message received, in order.
    public mutating func observeResponses(_ observer: @escaping @Sendable (any SwiftProtobuf.Message) -> Void) {
        self.observers.observeResponses(observer)
    }
}

/// The interceptors and credentials one call goes through before it starts.
struct ClientInterception: Sendable {
    let interceptors: [any ClientInterceptor]
    let channelCredentials: CallCredentials?
    /// Where the channel connects, and whether over TLS or on this machine.
    let target: String
    let transportIsSecure: Bool

    /// Nil when the call needs no work before it starts: it then takes the direct path.
    init?(channel: Channel, options: CallOptions) {
        let configuration = channel.configuration
        guard !configuration.interceptors.isEmpty || configuration.credentials != nil || options.credentials != nil else {
            return nil
        }
        self.interceptors = configuration.interceptors
        self.channelCredentials = configuration.credentials
        self.target = channel.target
        self.transportIsSecure = channel.transportIsSecure
    }

    /// Runs the chain for the call on `stream`, in a task of its own (it inherits the
    /// caller's task-locals), and returns that task. `start`, the innermost step, gets the
    /// call as the last interceptor left it, with the credentials' metadata added; it may
    /// run once.
    ///
    /// The task's value is the call's own result once `start` has run, whatever the
    /// interceptors did afterwards; before that, the chain's error, or INTERNAL when it
    /// returned without calling `next`. If the stream ends first (its deadline, a cancel),
    /// the task is cancelled, the gate fails, and the stream's error is the result: a
    /// chain waiting on slow credentials does not hold the call past its deadline.
    func launch<Value: Sendable>(
        _ head: ClientInterceptorCall,
        stream box: NIOLoopBoundBox<ClientStream>,
        eventLoop: any EventLoop,
        gate: CallStartGate,
        start: @escaping @Sendable (ClientInterceptorCall) async throws -> Value
    ) -> Task<Value, any Error> {
        let path = head.path
        let outcome = Mutex<Result<Value, RPCError>?>(nil)
        let task = Task {
            var chainError: (any Error)?
            do {
                try await self.run(head) { call in
                    let first = outcome.withLock { $0 == nil }
                    guard first else {
                        throw RPCError(.internal, "a client interceptor of \(path) called next more than once")
                    }
                    do {
                        let result = try await start(call)
                        outcome.withLock { $0 = .success(result) }
                    } catch {
                        outcome.withLock { $0 = .failure(Self.status(of: error, path: path)) }
                        throw error
                    }
                }
            } catch {
                chainError = error
            }
            if let own = outcome.withLock({ $0 }) {
                return try own.get()
            }
            let failure = gate.failure  // the stream ended first: its error says why
                ?? chainError.map { Self.status(of: $0, path: path) }
                ?? RPCError(.internal, "a client interceptor of \(path) returned without making the call")
            gate.fail(failure)
            eventLoop.execute { box.value.cancel(failure) }
            throw failure
        }
        eventLoop.execute {
            let stream = box.value
            Channel.armDeadline(stream, eventLoop: eventLoop)
            stream.onFailure { error in
                // Before the chain started the call: release waiting writers, stop the chain.
                if gate.fail(error) { task.cancel() }
            }
        }
        return task
    }

    /// Runs the chain around `start` (see `launch`).
    private func run(_ call: ClientInterceptorCall, start: (ClientInterceptorCall) async throws -> Void) async throws {
        try await Self.run(call, through: self.interceptors[...]) { final in
            var final = final
            if let credentials = final.options.credentials ?? self.channelCredentials {
                if credentials.requiresTransportSecurity && !self.transportIsSecure {
                    throw RPCError(
                        .unauthenticated,
                        "will not send the credentials of \(final.path) in plaintext to \(self.target): "
                            + "configure TLS (Channel.Configuration.tls), or make the credentials with "
                            + "requiresTransportSecurity: false"
                    )
                }
                final.options.metadata.merge(try await credentials.metadata(for: final.path))
            }
            if let problem = GRPCHeaders.firstInvalidEntry(in: final.options.metadata) {
                throw RPCError(.internal, "cannot call \(final.path): \(problem)")
            }
            try await start(final)
        }
    }

    private static func run(
        _ call: ClientInterceptorCall,
        through interceptors: ArraySlice<any ClientInterceptor>,
        start: (ClientInterceptorCall) async throws -> Void
    ) async throws {
        guard let first = interceptors.first else {
            return try await start(call)
        }
        try await first.intercept(call) { next in
            try await Self.run(next, through: interceptors.dropFirst(), start: start)
        }
    }

    /// The status a failure inside the chain gives the call.
    static func status(of error: any Error, path: String) -> RPCError {
        if let error = error as? RPCError { return error }
        if error is CancellationError { return RPCError(.cancelled, "the call was cancelled by the client") }
        return RPCError(.unknown, "a client interceptor of \(path) failed: \(error)")
    }
}

/// How a streaming call's requests wait for its interceptor chain: they are framed and
/// sent once the chain has started the call (with the compression it chose, and seen by
/// the observers it registered), and fail with the chain's error if it never does.
final class CallStartGate: Sendable {
    /// What the chain decided, for the messages of the call.
    struct Started: Sendable {
        var observers: MessageObservers
        var compression: CompressionAlgorithm
    }

    private enum State {
        case waiting([CheckedContinuation<Started, any Error>])
        case started(Started)
        case failed(RPCError)
    }

    private let state = Mutex(State.waiting([]))

    /// The chain started the call.
    func open(_ started: Started) {
        let waiters: [CheckedContinuation<Started, any Error>] = self.state.withLock { state in
            guard case .waiting(let waiters) = state else { return [] }
            state = .started(started)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: started) }
    }

    /// The chain failed before starting the call, or the call ended before the chain
    /// started it. Returns false, doing nothing, once the gate has opened or failed.
    @discardableResult
    func fail(_ error: RPCError) -> Bool {
        let waiters: [CheckedContinuation<Started, any Error>]? = self.state.withLock { state in
            guard case .waiting(let waiters) = state else { return nil }
            state = .failed(error)
            return waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(throwing: error) }
        return true
    }

    /// Why the gate failed, if it did.
    var failure: RPCError? {
        self.state.withLock { state in
            if case .failed(let error) = state { return error }
            return nil
        }
    }

    /// Waits until the chain has started the call.
    func wait() async throws -> Started {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<Started, RPCError>? = self.state.withLock { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .started(let started): return .success(started)
                case .failed(let error): return .failure(error)
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }

    /// The chain's decision, if it has started the call.
    var started: Started? {
        self.state.withLock { state in
            if case .started(let started) = state { return started }
            return nil
        }
    }
}
