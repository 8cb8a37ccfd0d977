import GRPCSimple
import TestServices
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Channels: concurrency, servers that are not there, reconnection, shutdown.
@Suite struct ConnectionTests {
    @Test func thousandConcurrentCallsOnOneChannel() async throws {
        try await withHarness { harness in
            let echo = harness.echo
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        let reply = try await echo.get(.with { $0.text = "call \(index)" })
                        return reply.text == "call \(index)"
                    }
                }
                var ok = 0
                for try await result in group where result { ok += 1 }
                return ok
            }
            #expect(results == 1000)
        }
    }

    @Test func serverThatIsNotThereFailsFastWithUnavailable() async throws {
        // Find a port nobody listens on: start a server, note its port, stop it.
        let server = Server(services: [], workers: 1)
        try await server.start(host: "127.0.0.1", port: 0)
        let port = server.port!
        await server.shutdown()

        let channel = try GRPCChannel(host: "127.0.0.1", port: port)
        let started = ContinuousClock.now
        let error = await expectRPCError {
            _ = try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "x" })
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
        #expect(error?.message.contains("Connection refused") == true)
        #expect(ContinuousClock.now - started < .seconds(10), "fails long before the 20 s connect timeout")
        await channel.close()
    }

    @Test func waitForReadyWaitsForTheServer() async throws {
        let probe = ServiceProbe()
        // Reserve a port, then start the server on it only after the call has begun.
        let placeholder = Server(services: [], workers: 1)
        try await placeholder.start(host: "127.0.0.1", port: 0)
        let port = placeholder.port!
        await placeholder.shutdown()

        var configuration = GRPCChannel.Configuration()
        configuration.backoff.initialBackoff = .milliseconds(100)
        configuration.backoff.maximumBackoff = .milliseconds(200)
        let channel = try GRPCChannel(host: "127.0.0.1", port: port, configuration: configuration)
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        let call = Task {
            try await client.get(
                .with { $0.text = "patient" }, options: CallOptions(timeout: .seconds(10), waitForReady: true))
        }
        try await Task.sleep(for: .milliseconds(300))
        let server = Server(services: [EchoService(probe: probe)], workers: 1)
        try await server.start(host: "127.0.0.1", port: port)
        let reply = try await call.value
        #expect(reply.text == "patient")
        await channel.close()
        await server.shutdown()
    }

    @Test func channelReconnectsAfterTheServerRestarts() async throws {
        let probe = ServiceProbe()
        let first = Server(services: [EchoService(probe: probe)], workers: 1)
        try await first.start(host: "127.0.0.1", port: 0)
        let port = first.port!
        var configuration = GRPCChannel.Configuration()
        configuration.backoff.initialBackoff = .milliseconds(50)
        let channel = try GRPCChannel(host: "127.0.0.1", port: port, configuration: configuration)
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        #expect(try await client.get(.with { $0.text = "1" }).text == "1")
        await first.shutdown()

        let second = Server(services: [EchoService(probe: probe)], workers: 1)
        try await second.start(host: "127.0.0.1", port: port)
        let reply = try await client.get(
            .with { $0.text = "2" }, options: CallOptions(timeout: .seconds(10), waitForReady: true))
        #expect(reply.text == "2")
        await channel.close()
        await second.shutdown()
    }

    @Test func gracefulShutdownLetsCallsInFlightFinish() async throws {
        let harness = try await TestHarness.start()
        let echo = harness.echo
        let inFlight = Task {
            try await echo.get(.with { $0.text = "finishing" }, options: CallOptions(metadata: ["sleep-ms": "300"]))
        }
        try await withTimeout(seconds: 20) { try await harness.probe.wait(for: "sleeping /grpcsimple.echo.Echo/Get") }
        await harness.server.shutdown(gracePeriod: .seconds(5))
        #expect(try await inFlight.value.text == "finishing")
        // New calls find no server.
        let error = await expectRPCError { _ = try await echo.get(.with { $0.text = "late" }) }
        #expect(error?.code == .unavailable)
        await harness.channel.close()
    }

    @Test func shutdownCancelsCallsThatOutliveTheGracePeriod() async throws {
        let harness = try await TestHarness.start()
        let echo = harness.echo
        let inFlight = Task {
            try await echo.get(.with { $0.text = "slow" }, options: CallOptions(metadata: ["sleep-ms": "30000"]))
        }
        try await withTimeout(seconds: 20) { try await harness.probe.wait(for: "sleeping /grpcsimple.echo.Echo/Get") }
        let started = ContinuousClock.now
        await harness.server.shutdown(gracePeriod: .milliseconds(300))
        #expect(ContinuousClock.now - started < .seconds(20), "the 30 s handler was cut short")
        let result = await inFlight.result
        #expect(throws: RPCError.self) { try result.get() }
        try await withTimeout(seconds: 20) { try await harness.probe.wait(for: "cancelled /grpcsimple.echo.Echo/Get") }
        await harness.channel.close()
    }

    @Test func shutdownOfAServerThatNeverStartedReturns() async throws {
        let server = Server(services: [], workers: 1)
        try await withTimeout(seconds: 20) {
            await server.shutdown()
            await server.waitForTermination()
        }
    }

    @Test func listeningOnAPortInUseFailsWithABindErrorNamingTheAddressAndTheOSError() async throws {
        let first = Server(services: [], workers: 1)
        try await first.start(host: "127.0.0.1", port: 0)
        let port = try #require(first.port)
        let second = Server(services: [], workers: 1)
        do {
            try await second.start(host: "127.0.0.1", port: port)
            Issue.record("a second server listened on the same port")
        } catch let error as Server.BindError {
            #expect(error.address == "127.0.0.1:\(port)")
            #expect(error.errorNumber == EADDRINUSE)
            #expect(
                error.description
                    == "could not listen on 127.0.0.1:\(port): Address already in use (errno \(EADDRINUSE))")
        }
        await second.shutdown()
        await first.shutdown()
    }
}
