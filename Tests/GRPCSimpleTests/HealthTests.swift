import GRPCHealth
import GRPCSimple
import Testing

/// grpc.health.v1.Health over a real socket: Check, Watch, per-service statuses, and
/// NOT_SERVING once a graceful shutdown begins.
@Suite struct HealthTests {
    func withHealthServer(_ body: (HealthService, Grpc_Health_V1_HealthClient, Server) async throws -> Void)
        async throws
    {
        let health = HealthService()
        let server = Server(services: [health], workers: 1)
        try await server.start(host: "127.0.0.1", port: 0)
        let channel = try GRPCChannel(host: "127.0.0.1", port: try #require(server.port))
        do {
            try await body(health, Grpc_Health_V1_HealthClient(channel: channel), server)
        } catch {
            await channel.close()
            await server.shutdown(gracePeriod: .seconds(1))
            throw error
        }
        await channel.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func checkAnswersOverallAndPerServiceStatus() async throws {
        try await withHealthServer { health, client, _ in
            let overall = try await client.check(.with { $0.service = "" })
            #expect(overall.status == .serving)
            let unknown = await expectRPCError { _ = try await client.check(.with { $0.service = "nope" }) }
            #expect(unknown?.code == .notFound)
            health.setStatus(.notServing, for: "svc")
            let down = try await client.check(.with { $0.service = "svc" })
            #expect(down.status == .notServing)
            health.setStatus(.serving, for: "svc")
            let up = try await client.check(.with { $0.service = "svc" })
            #expect(up.status == .serving)
            health.clearStatus(for: "svc")
            #expect(
                await expectRPCError { _ = try await client.check(.with { $0.service = "svc" }) }?.code == .notFound)
        }
    }

    @Test func watchStreamsChangesAndUnknownServices() async throws {
        try await withHealthServer { health, client, _ in
            let statuses = try await withTimeout(seconds: 10) {
                var seen: [HealthService.Status] = []
                for try await response in client.watch(.with { $0.service = "svc" }) {
                    seen.append(response.status)
                    switch seen.count {
                    case 1: health.setStatus(.serving, for: "svc")
                    case 2: health.setStatus(.notServing, for: "svc")
                    default: return seen
                    }
                }
                return seen
            }
            #expect(statuses == [.serviceUnknown, .serving, .notServing])
        }
    }

    @Test func gracefulShutdownTurnsEveryStatusNotServingAndEndsWatches() async throws {
        let health = HealthService()
        health.setStatus(.serving, for: "svc")
        let server = Server(services: [health], workers: 1)
        try await server.start(host: "127.0.0.1", port: 0)
        let channel = try GRPCChannel(host: "127.0.0.1", port: try #require(server.port))
        let client = Grpc_Health_V1_HealthClient(channel: channel)
        let (firstStatus, firstStatusSeen) = AsyncStream.makeStream(of: Void.self)
        let watch = Task {
            var seen: [HealthService.Status] = []
            for try await response in client.watch(.with { $0.service = "svc" }) {
                seen.append(response.status)
                firstStatusSeen.yield()
            }
            return seen
        }
        // The Watch is established once its first status has arrived.
        for await _ in firstStatus { break }
        let started = ContinuousClock.now
        await server.shutdown(gracePeriod: .seconds(10))
        #expect(ContinuousClock.now - started < .seconds(5), "the open Watch did not hold the shutdown")
        #expect(health.status(for: "") == .notServing)
        #expect(health.status(for: "svc") == .notServing)
        #expect(try await withTimeout(seconds: 10) { try await watch.value } == [.serving, .notServing])
        await channel.close()
    }
}
