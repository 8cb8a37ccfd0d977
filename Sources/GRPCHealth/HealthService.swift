import GRPCSimple
import Synchronization

/// `grpc.health.v1.Health` (grpc/grpc `doc/health-checking.md`): `Check` answers the
/// status of the server (service `""`) or of one service, `Watch` streams it as it
/// changes. Statuses are set from code; the server's overall status starts SERVING, and
/// every status turns NOT_SERVING when the server begins a graceful shutdown (open `Watch`
/// calls get that, then end).
///
/// ```swift
/// let health = HealthService()
/// health.setStatus(.serving, for: "AsillaService")
/// let server = Server(services: [PersonServer(), health])
/// ```
public final class HealthService: Grpc_Health_V1_HealthProvider {
    /// A serving status: `.serving`, `.notServing`, `.serviceUnknown` (Watch only) or `.unknown`.
    public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct Watcher {
        var service: String
        var continuation: AsyncStream<Status>.Continuation
    }

    private struct State {
        var statuses: [String: Status] = ["": .serving]
        var watchers: [Int: Watcher] = [:]
        var nextWatcherID = 0
        var shuttingDown = false
    }

    private let state = Mutex(State())

    /// A health service in which the whole server (`""`) is SERVING and no other service is known yet.
    public init() {}

    /// Sets the status of `service` (`""`: the whole server) and tells its watchers.
    /// Ignored once the server is shutting down: it stays NOT_SERVING.
    public func setStatus(_ status: Status, for service: String = "") {
        self.state.withLock { state in
            guard !state.shuttingDown else { return }
            state.statuses[service] = status
            Self.notify(&state, service: service, status)
        }
    }

    /// Forgets `service`: `Check` answers NOT_FOUND and watchers see SERVICE_UNKNOWN.
    public func clearStatus(for service: String) {
        self.state.withLock { state in
            state.statuses[service] = nil
            Self.notify(&state, service: service, .serviceUnknown)
        }
    }

    /// The status `Check` would answer, nil for an unknown service.
    public func status(for service: String = "") -> Status? {
        self.state.withLock { $0.statuses[service] }
    }

    /// Turns every status NOT_SERVING and ends every Watch: the server is shutting down.
    public func serverWillShutDown() {
        self.state.withLock { state in
            state.shuttingDown = true
            for service in state.statuses.keys {
                state.statuses[service] = .notServing
                Self.notify(&state, service: service, .notServing)
            }
            // Watchers get NOT_SERVING, then their calls end, so they do not hold the
            // shutdown for its whole grace period.
            for watcher in state.watchers.values {
                watcher.continuation.finish()
            }
        }
    }

    private static func notify(_ state: inout State, service: String, _ status: Status) {
        for watcher in state.watchers.values where watcher.service == service {
            watcher.continuation.yield(status)
        }
    }

    // MARK: The service

    /// `grpc.health.v1.Health/Check`: the status of `request.service`; NOT_FOUND for a service never set.
    public func check(
        request: Grpc_Health_V1_HealthCheckRequest,
        context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = self.status(for: request.service) else {
            throw RPCError(.notFound, "unknown service '\(request.service)'")
        }
        return .with { $0.status = status }
    }

    /// `grpc.health.v1.Health/Watch`: the status of `request.service` now and at every change.
    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        responses: ResponseWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        // Only the latest status matters to a watcher that falls behind.
        let (updates, continuation) = AsyncStream.makeStream(of: Status.self, bufferingPolicy: .bufferingNewest(1))
        let id: Int = self.state.withLock { state in
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            state.watchers[id] = Watcher(service: request.service, continuation: continuation)
            continuation.yield(state.statuses[request.service] ?? .serviceUnknown)
            return id
        }
        defer {
            _ = self.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        var last: Status?
        for await status in updates where status != last {
            last = status
            try await responses.write(.with { $0.status = status })
        }
    }
}
