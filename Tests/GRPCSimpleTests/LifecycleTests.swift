import GRPCSimple
import Logging
import ServiceLifecycle
import TestServices
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `Server` and `GRPCChannel` as swift-service-lifecycle services.
@Suite(.serialized) struct LifecycleTests {
    @Test func aSignalDrainsTheServerWhileACallInFlightCompletes() async throws {
        let probe = ServiceProbe()
        var configuration = Server.Configuration()
        configuration.shutdownGracePeriod = .seconds(30)
        let server = Server(services: [EchoService(probe: probe)], workers: 1, configuration: configuration)
        try await server.start(host: "127.0.0.1", port: 0)
        let port = try #require(server.port)
        let channel = try GRPCChannel(host: "127.0.0.1", port: port)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: RunningMarker(probe: probe)), .init(service: channel), .init(service: server),
                ],
                gracefulShutdownSignals: [.sigterm],
                logger: Logger(label: "lifecycle-test", factory: { _ in SwiftLogNoOpLogHandler() })
            ))
        try await withTimeout(seconds: 60) {
            try await withThrowingTaskGroup(of: String.self) { tasks in
                tasks.addTask {
                    try await group.run()
                    return "group"
                }
                tasks.addTask {
                    // In flight when the signal comes: it still gets its answer.
                    let response = try await Grpcsimple_Echo_EchoClient(channel: channel).get(
                        .with { $0.text = "finishing" }, options: CallOptions(metadata: ["sleep-ms": "500"]))
                    return response.text
                }
                try await probe.wait(for: "sleeping /grpcsimple.echo.Echo/Get")
                // SIGTERM only once the group listens for it: a ServiceGroup makes its signal
                // sources before it runs any service, so a service that has started proves them
                // there. Sent earlier, on a loaded machine, SIGTERM's default action would end the
                // whole test process.
                try await probe.wait(for: "group running")
                kill(getpid(), SIGTERM)
                var results: [String] = []
                for try await result in tasks { results.append(result) }
                #expect(results.sorted() == ["finishing", "group"])
            }
        }
        // The server has stopped: its port is closed.
        await server.waitForTermination()
        let late = try GRPCChannel(host: "127.0.0.1", port: port)
        let error = await expectRPCError {
            _ = try await Grpcsimple_Echo_EchoClient(channel: late).get(.with { $0.text = "x" })
        }
        #expect(error?.code == .unavailable)
        await late.close()
    }

    @Test func runningAServerThatWasNotStartedFailsClearly() async throws {
        let server = Server(services: [])
        let error = await expectRPCError { try await server.run() }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.message.contains("start(host:port:)") == true)
    }

    @Test func cancellingTheGroupStopsTheServer() async throws {
        let server = Server(services: [], workers: 1)
        try await server.start(host: "127.0.0.1", port: 0)
        let run = Task { try await server.run() }
        run.cancel()
        try await withTimeout(seconds: 30) { try await run.value }
        await server.waitForTermination()
        #expect(server.port == nil)
    }
}

/// A service that records `group running` when its group starts it, then waits for the
/// group's graceful shutdown.
private struct RunningMarker: Service {
    let probe: ServiceProbe

    func run() async throws {
        self.probe.record("group running")
        try? await gracefulShutdown()
    }
}
