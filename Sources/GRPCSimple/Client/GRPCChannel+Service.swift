import ServiceLifecycle

/// A `GRPCChannel` is a swift-service-lifecycle `Service`: in a `ServiceGroup` it stays
/// open until graceful shutdown (or cancellation), then closes. A group shuts its
/// services down in reverse order, so list a channel before the services that call
/// through it (`[channel, server]`): the server drains its calls first.
extension GRPCChannel: Service {
    /// Waits for graceful shutdown or cancellation, then closes the channel.
    public func run() async throws {
        try? await gracefulShutdown()
        await self.close()
    }
}
