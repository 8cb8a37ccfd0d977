import ServiceLifecycle

/// A `Server` is a swift-service-lifecycle `Service`: start it, then run it in a
/// `ServiceGroup`, which shuts it down gracefully on SIGTERM (or when another service
/// ends), giving calls in flight `Configuration.shutdownGracePeriod` to finish.
///
/// ```swift
/// let server = Server(services: [PersonServer()])
/// try await server.start(host: "0.0.0.0", port: 50051)
/// let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
extension Server: Service {
    /// Serves until the server shuts down: on graceful shutdown with
    /// `Configuration.shutdownGracePeriod`, on cancellation at once. Throws
    /// FAILED_PRECONDITION if the server was never started: call `start(host:port:)`
    /// first, so that a port that cannot be bound fails before the group runs.
    public func run() async throws {
        guard self.address != nil else {
            if self.hasStopped { return }
            throw RPCError(
                .failedPrecondition,
                "the server is not listening: call start(host:port:) before running it in a ServiceGroup")
        }
        let gracePeriod = self.configuration.shutdownGracePeriod
        await withDiscardingTaskGroup { group in
            group.addTask {
                do {
                    try await gracefulShutdown()
                    await self.shutdown(gracePeriod: gracePeriod)
                } catch {
                    // Cancelled: the group is going down (or the server already stopped).
                    await self.shutdown(gracePeriod: .zero)
                }
            }
            await self.waitForTermination()
            group.cancelAll()
        }
    }
}
