import GRPCSimple
import NIOConcurrencyHelpers
import TestServices

/// A server on 127.0.0.1 with a port the system picked, and a channel to it.
struct TestHarness {
    let server: Server
    let channel: GRPCChannel
    let probe: ServiceProbe
    let port: Int

    var echo: Grpcsimple_Echo_EchoClient { Grpcsimple_Echo_EchoClient(channel: self.channel) }

    static func start(
        configuration: Server.Configuration = .init(),
        channelConfiguration: GRPCChannel.Configuration = .init(),
        interceptors: [any ServerInterceptor] = [],
        host: String = "127.0.0.1"
    ) async throws -> TestHarness {
        let probe = ServiceProbe()
        let server = Server(
            services: [EchoService(probe: probe), NamingService()],
            interceptors: interceptors,
            workers: 1,
            configuration: configuration
        )
        try await server.start(host: host, port: 0)
        guard let port = server.port else { throw RPCError(.internal, "server has no port") }
        let channelHost = host.contains(":") ? host : "127.0.0.1"
        let channel = try GRPCChannel(host: channelHost, port: port, configuration: channelConfiguration)
        return TestHarness(server: server, channel: channel, probe: probe, port: port)
    }

    func stop() async {
        await self.channel.close()
        await self.server.shutdown(gracePeriod: .seconds(1))
    }
}

/// Runs `body` against a fresh harness and always stops it.
func withHarness<T>(
    configuration: Server.Configuration = .init(),
    channelConfiguration: GRPCChannel.Configuration = .init(),
    interceptors: [any ServerInterceptor] = [],
    host: String = "127.0.0.1",
    _ body: (TestHarness) async throws -> T
) async throws -> T {
    let harness = try await TestHarness.start(
        configuration: configuration,
        channelConfiguration: channelConfiguration,
        interceptors: interceptors,
        host: host
    )
    do {
        let result = try await body(harness)
        await harness.stop()
        return result
    } catch {
        await harness.stop()
        throw error
    }
}

/// Fails with a clear message if `operation` takes longer than `seconds`: no test hangs,
/// even when the operation ignores cancellation (it is cancelled and left behind).
func withTimeout<T: Sendable>(
    seconds: Double = 10,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let pending = NIOLockedValueBox<CheckedContinuation<T, any Error>?>(nil)
    let take: @Sendable () -> CheckedContinuation<T, any Error>? = {
        pending.withLockedValue { continuation in
            defer { continuation = nil }
            return continuation
        }
    }
    return try await withCheckedThrowingContinuation { continuation in
        pending.withLockedValue { $0 = continuation }
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            take()?.resume(with: result)
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            if let continuation = take() {
                continuation.resume(throwing: TimeoutError(seconds: seconds))
                work.cancel()
            }
        }
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var seconds: Double
    var description: String { "timed out after \(self.seconds) s" }
}

/// Asks `probe` every 5 ms, at least once, until it gives a value or `timeout` has
/// passed; returns the value, or nil. The raw test clients wait for frames with it.
func poll<T>(within timeout: Duration, _ probe: () -> T?) async -> T? {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while true {
        if let value = probe() { return value }
        guard ContinuousClock.now < deadline else { return nil }
        try? await Task.sleep(for: .milliseconds(5))
    }
}

/// Whether `condition` holds within `timeout` (see `poll`).
func eventually(within timeout: Duration, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while true {
        if await condition() { return true }
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
}

/// Expects `body` to throw an RPCError and returns it.
func expectRPCError(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        return RPCError(.unknown, "not an RPCError: \(error)")
    }
}
