import GRPCHealth
import NIOCore
import SwiftProtobuf
import Synchronization
import TestServices
import Testing

@testable import GRPCSimple

/// Client-side health checking (gRFC A17): with `healthCheckConfig` in the service config,
/// each connection watches the server's health, and calls go only to SERVING servers.
@Suite struct HealthCheckingTests {
    typealias Backend = LoadBalancingTests.Backend
    static let service = "grpcsimple.echo.Echo"

    static func channel(
        to backends: [Backend], policy: String = "round_robin", configuration: GRPCChannel.Configuration = .init()
    ) throws -> GRPCChannel {
        var configuration = configuration
        configuration.serviceConfig = try ServiceConfig(
            json:
                #"{"loadBalancingConfig": [{"\#(policy)": {}}], "healthCheckConfig": {"serviceName": "\#(Self.service)"}}"#
        )
        return try GRPCChannel(
            target: "ipv4:" + backends.map(\.hostPort).joined(separator: ","), configuration: configuration)
    }

    @Test func aServerThatStopsServingGetsNoNewCallsAndComesBack() async throws {
        let healths = [HealthService(), HealthService()]
        for health in healths { health.setStatus(.serving, for: Self.service) }
        let backends = [try await Backend.start(health: healths[0]), try await Backend.start(health: healths[1])]
        let channel = try Self.channel(to: backends)
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        channel.connect()
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 2 })
        for index in 0..<10 { _ = try await client.get(.with { $0.text = "\(index)" }) }
        #expect(backends.allSatisfy { $0.unaryCalls > 0 })

        healths[1].setStatus(.notServing, for: Self.service)
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 1 })
        let before = backends.map(\.unaryCalls)
        for index in 0..<10 { _ = try await client.get(.with { $0.text = "after \(index)" }) }
        #expect(backends[1].unaryCalls == before[1], "no call to the server that is not serving")
        #expect(backends[0].unaryCalls == before[0] + 10)

        healths[1].setStatus(.serving, for: Self.service)
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 2 })
        await channel.close()
        for backend in backends { await backend.server.shutdown(gracePeriod: .zero) }
    }

    @Test func aServerThatNeverServesFailsTheCallsThatCannotWait() async throws {
        let health = HealthService()
        health.setStatus(.notServing, for: Self.service)
        let backend = try await Backend.start(health: health)
        let channel = try Self.channel(to: [backend])
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        let error = await expectRPCError { _ = try await client.get(.with { $0.text = "x" }) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("NOT_SERVING") == true, "\(String(describing: error))")
        #expect(backend.unaryCalls == 0)
        // A call that waits for ready goes out once the server serves.
        let waiting = Task {
            try await client.get(
                .with { $0.text = "patient" }, options: CallOptions(timeout: .seconds(10), waitForReady: true))
        }
        try await Task.sleep(for: .milliseconds(100))
        health.setStatus(.serving, for: Self.service)
        #expect(try await waiting.value.text == "patient")
        await channel.close()
        await backend.server.shutdown(gracePeriod: .zero)
    }

    @Test func aServerWithoutAHealthServiceIsUsed() async throws {
        let backend = try await Backend.start()
        let channel = try Self.channel(to: [backend])
        let reply = try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "no health" })
        #expect(reply.text == "no health")
        await channel.close()
        await backend.server.shutdown(gracePeriod: .zero)
    }

    @Test func pickFirstDoesNotCheckHealth() async throws {
        let health = HealthService()
        health.setStatus(.notServing, for: Self.service)
        let backend = try await Backend.start(health: health)
        let channel = try Self.channel(to: [backend], policy: "pick_first")
        let reply = try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "anyway" })
        #expect(reply.text == "anyway")
        await channel.close()
        await backend.server.shutdown(gracePeriod: .zero)
    }

    /// A service config that turns health checking on, then off, takes effect on the
    /// connections the channel already has.
    @Test func aChangedHealthCheckAppliesToConnectionsAlreadyOpen() async throws {
        let healths = [HealthService(), HealthService()]
        healths[0].setStatus(.serving, for: Self.service)
        healths[1].setStatus(.notServing, for: Self.service)
        let backends = [try await Backend.start(health: healths[0]), try await Backend.start(health: healths[1])]
        let resolver = LoadBalancingTests.SteeredResolver()
        let unchecked = #"{"loadBalancingConfig": [{"round_robin": {}}]}"#
        let checked =
            #"{"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": "\#(Self.service)"}}"#
        resolver.set(backends.map(\.address), serviceConfig: unchecked)
        var configuration = GRPCChannel.Configuration()
        configuration.nameResolvers = [resolver]
        let channel = try GRPCChannel(target: "steered:x", configuration: configuration)
        channel.connect()
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 2 })

        resolver.set(backends.map(\.address), serviceConfig: checked)
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 1 })
        let before = backends.map(\.unaryCalls)
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        for index in 0..<6 { _ = try await client.get(.with { $0.text = "\(index)" }) }
        #expect(backends[1].unaryCalls == before[1], "no call to the server that is not serving")

        resolver.set(backends.map(\.address), serviceConfig: unchecked)
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 2 })
        await channel.close()
        for backend in backends { await backend.server.shutdown(gracePeriod: .zero) }
    }

    /// A health service whose every Watch fails with UNAVAILABLE, after answering SERVING
    /// or at once; it notes when each watch came.
    final class FailingHealth: Grpc_Health_V1_HealthProvider {
        let answersFirst: Bool
        private let times = Mutex<[ContinuousClock.Instant]>([])
        var watchTimes: [ContinuousClock.Instant] { self.times.withLock { $0 } }
        var watches: Int { self.times.withLock { $0.count } }

        init(answersFirst: Bool) { self.answersFirst = answersFirst }

        func check(
            request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext
        ) async throws -> Grpc_Health_V1_HealthCheckResponse {
            .with { $0.status = .serving }
        }

        func watch(
            request: Grpc_Health_V1_HealthCheckRequest,
            responses: ResponseWriter<Grpc_Health_V1_HealthCheckResponse>,
            context: ServerContext
        ) async throws {
            self.times.withLock { $0.append(.now) }
            if self.answersFirst { try await responses.write(.with { $0.status = .serving }) }
            throw RPCError(.unavailable, "the health store is down")
        }
    }

    /// A watch that fails before the server answers is tried again after the connection
    /// back-off's delays (gRFC A17): growing gaps, not a loop and not a fixed pace. Only
    /// lower bounds are checked, which a loaded machine cannot break.
    @Test func aWatchThatFailsUnansweredIsRetriedWithBackoff() async throws {
        let health = FailingHealth(answersFirst: false)
        let backend = try await Backend.start(health: health)
        var configuration = GRPCChannel.Configuration()
        configuration.backoff.initialBackoff = .milliseconds(200)
        configuration.backoff.multiplier = 3
        configuration.backoff.jitter = 0
        let channel = try Self.channel(to: [backend], configuration: configuration)
        channel.connect()
        // Watches at 0, 0.2, 0.8 and 2.6 s: gaps of 0.2, 0.6 and 1.8 s (a fixed one-second
        // pace would give a third gap near 1 s, no back-off gaps near 0).
        #expect(await eventually(within: .seconds(30)) { health.watches >= 4 }, "\(health.watches) watches")
        let times = health.watchTimes
        if times.count >= 4 {
            let gaps = (1..<4).map { times[$0] - times[$0 - 1] }
            #expect(
                gaps[0] >= .milliseconds(190) && gaps[1] >= .milliseconds(590) && gaps[2] >= .milliseconds(1790),
                "\(gaps)")
        }
        await channel.close()
        await backend.server.shutdown(gracePeriod: .zero)
    }

    /// A watch the server had answered is tried again at once, its back-off restarted: with
    /// a 30 s back-off, three watches come within seconds.
    @Test func aWatchThatFailsAfterAnAnswerIsRetriedAtOnce() async throws {
        let health = FailingHealth(answersFirst: true)
        let backend = try await Backend.start(health: health)
        var configuration = GRPCChannel.Configuration()
        configuration.backoff.initialBackoff = .seconds(30)
        let channel = try Self.channel(to: [backend], configuration: configuration)
        channel.connect()
        #expect(await eventually(within: .seconds(20)) { health.watches >= 3 }, "\(health.watches) watches")
        await channel.close()
        await backend.server.shutdown(gracePeriod: .zero)
    }

    @Test func theWatchMessagesAreHealthsOwn() throws {
        let envelope = HealthWatch.request(service: "a.B")
        let payload = envelope.getSlice(
            at: Envelope.prefixLength, length: envelope.readableBytes - Envelope.prefixLength)!
        let request = try Grpc_Health_V1_HealthCheckRequest(serializedBytes: Array(payload.readableBytesView))
        #expect(request.service == "a.B")
        for status in [
            Grpc_Health_V1_HealthCheckResponse.ServingStatus.unknown, .serving, .notServing, .serviceUnknown,
        ] {
            let bytes: [UInt8] = try Grpc_Health_V1_HealthCheckResponse.with { $0.status = status }.serializedBytes()
            #expect(HealthWatch.status(in: ByteBuffer(bytes: bytes)) == UInt64(status.rawValue))
        }
        // Unknown fields are skipped; truncated bytes are not a message.
        #expect(HealthWatch.status(in: ByteBuffer(bytes: [0x12, 0x01, 0x41, 0x08, 0x01])) == 1)
        #expect(HealthWatch.status(in: ByteBuffer(bytes: [0x08])) == nil)
        #expect(HealthWatch.status(in: ByteBuffer(bytes: [0x12, 0x05, 0x41])) == nil)
    }
}
