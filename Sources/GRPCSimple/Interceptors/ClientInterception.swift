import NIOCore
import Synchronization

/// The interceptors and credentials one call goes through before it starts.
struct ClientInterception: Sendable {
    let interceptors: [any ClientInterceptor]
    let channelCredentials: CallCredentials?
    /// Where the channel connects, and whether over TLS or on this machine.
    let target: String
    let transportIsSecure: Bool

    /// Nil when the call needs no work before it starts: it then takes the direct path.
    init?(channel: GRPCChannel, options: CallOptions) {
        let configuration = channel.configuration
        guard !configuration.interceptors.isEmpty || configuration.credentials != nil || options.credentials != nil
        else {
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
        let path = head.method.path
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
            let failure =
                gate.failure  // the stream ended first: its error says why
                ?? chainError.map { Self.status(of: $0, path: path) }
                ?? RPCError(.internal, "a client interceptor of \(path) returned without making the call")
            gate.fail(failure)
            eventLoop.execute { box.value.cancel(failure) }
            throw failure
        }
        eventLoop.execute {
            let stream = box.value
            ClientCallStart.armDeadline(stream, eventLoop: eventLoop)
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
                        "will not send the credentials of \(final.method.path) in plaintext to \(self.target): "
                            + "configure TLS (GRPCChannel.Configuration.tls), or make the credentials with "
                            + "requiresTransportSecurity: false"
                    )
                }
                final.options.metadata.merge(try await credentials.metadata(for: final.method.path))
            }
            if let problem = GRPCHeaders.firstInvalidEntry(in: final.options.metadata) {
                throw RPCError(.internal, "cannot call \(final.method.path): \(problem)")
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
        return RPCError(.unknown, "a client interceptor of \(path) failed: \(error)", cause: error)
    }
}
