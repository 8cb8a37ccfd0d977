import GRPCHealth
import NIOConcurrencyHelpers
import NIOCore
import TestServices
import Testing

@testable import GRPCSimple

/// Load balancing over real sockets: several servers on 127.0.0.1 ports (or on 127.0.0.2
/// and 127.0.0.3 with one port), a channel over all of them, and a resolver the test
/// steers.
@Suite struct LoadBalancingTests {
    /// A running echo server and what it saw.
    struct Backend {
        let server: Server
        let probe: ServiceProbe
        let address: ServerAddress

        /// Starts an Echo server, with `health` beside it when given.
        static func start(
            host: String = "127.0.0.1", port: Int = 0, getDelay: Duration? = nil, health: (any GRPCService)? = nil
        ) async throws -> Backend {
            let probe = ServiceProbe()
            var services: [any GRPCService] = [EchoService(probe: probe, getDelay: getDelay)]
            if let health { services.append(health) }
            let server = Server(services: services, workers: 1)
            try await server.start(host: host, port: port)
            return Backend(server: server, probe: probe, address: try .ip(host, port: server.port!))
        }

        /// How many unary calls it handled.
        var unaryCalls: Int { self.probe.events.filter { $0 == "handling /grpcsimple.echo.Echo/Get" }.count }

        var hostPort: String {
            guard case .socket(let socket) = self.address else { return "" }
            return "\(socket.ipAddress!):\(socket.port!)"
        }
    }

    static func withBackends<T>(
        _ count: Int,
        _ body: ([Backend]) async throws -> T
    ) async throws -> T {
        var backends: [Backend] = []
        do {
            for _ in 0..<count { backends.append(try await Backend.start()) }
            let result = try await body(backends)
            for backend in backends { await backend.server.shutdown(gracePeriod: .zero) }
            return result
        } catch {
            for backend in backends { await backend.server.shutdown(gracePeriod: .zero) }
            throw error
        }
    }

    static func channel(
        to backends: [Backend],
        policy: LoadBalancingConfiguration,
        configure: (inout GRPCChannel.Configuration) -> Void = { _ in }
    ) throws -> GRPCChannel {
        var configuration = GRPCChannel.Configuration()
        configuration.loadBalancing = policy
        configure(&configuration)
        return try GRPCChannel(
            target: "ipv4:" + backends.map(\.hostPort).joined(separator: ","), configuration: configuration)
    }

    @Test func roundRobinSpreadsCallsEvenly() async throws {
        try await Self.withBackends(3) { backends in
            let channel = try Self.channel(to: backends, policy: .roundRobin)
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            // Wait until every backend is READY, so the spread is not skewed by connect times.
            for _ in 0..<3 { _ = try await client.get(.with { $0.text = "warm" }) }
            #expect(await eventually(within: .seconds(10)) { backends.allSatisfy { $0.unaryCalls > 0 } })
            let before = backends.map(\.unaryCalls)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<10 {
                    group.addTask {
                        for index in 0..<300 {
                            _ = try await client.get(.with { $0.text = "\(worker)-\(index)" })
                        }
                    }
                }
                try await group.waitForAll()
            }
            let counts = zip(backends, before).map { $0.unaryCalls - $1 }
            #expect(counts.reduce(0, +) == 3000)
            for count in counts {
                #expect((900...1100).contains(count), "round robin gave \(counts)")
            }
            await channel.close()
        }
    }

    @Test func pickFirstSticksToOneBackend() async throws {
        try await Self.withBackends(3) { backends in
            let channel = try Self.channel(to: backends, policy: .pickFirst)
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            for index in 0..<60 { _ = try await client.get(.with { $0.text = "\(index)" }) }
            #expect(backends.map(\.unaryCalls) == [60, 0, 0], "pick_first takes the first address")
            await channel.close()
        }
    }

    @Test func pickFirstMovesOnWhenTheFirstAddressIsDown() async throws {
        try await Self.withBackends(2) { backends in
            await backends[0].server.shutdown(gracePeriod: .zero)
            let channel = try Self.channel(to: backends, policy: .pickFirst)
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            for index in 0..<10 { _ = try await client.get(.with { $0.text = "\(index)" }) }
            #expect(backends[1].unaryCalls == 10)
            await channel.close()
        }
    }

    @Test func backendsOnSeveralLoopbackAddressesWithOnePort() async throws {
        let first = try await Backend.start(host: "127.0.0.2")
        let second = try await Backend.start(host: "127.0.0.3", port: first.server.port!)
        let channel = try GRPCChannel(
            target: "ipv4:127.0.0.2:\(first.server.port!),127.0.0.3:\(first.server.port!)",
            configuration: {
                var configuration = GRPCChannel.Configuration()
                configuration.loadBalancing = .roundRobin
                return configuration
            }()
        )
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        #expect(
            await eventually(within: .seconds(10)) {
                await (try? client.get(.with { $0.text = "x" })) != nil && first.unaryCalls > 0 && second.unaryCalls > 0
            })
        await channel.close()
        await first.server.shutdown(gracePeriod: .zero)
        await second.server.shutdown(gracePeriod: .zero)
    }

    @Test func aBackendThatStopsIsSkipped() async throws {
        try await Self.withBackends(3) { backends in
            let channel = try Self.channel(to: backends, policy: .roundRobin)
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            for index in 0..<30 { _ = try await client.get(.with { $0.text = "\(index)" }) }
            #expect(await eventually(within: .seconds(10)) { backends.allSatisfy { $0.unaryCalls > 0 } })
            await backends[1].server.shutdown(gracePeriod: .seconds(1))
            // Calls started after the shutdown reached the channel go to the other two.
            #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 2 })
            let before = backends.map(\.unaryCalls)
            for index in 0..<40 { _ = try await client.get(.with { $0.text = "after \(index)" }) }
            let after = zip(backends, before).map { $0.unaryCalls - $1 }
            #expect(after[1] == 0)
            #expect(after[0] + after[2] == 40)
            await channel.close()
        }
    }

    @Test func leastRequestSendsFewerCallsToASlowBackend() async throws {
        let backends = [
            try await Backend.start(getDelay: .milliseconds(300)), try await Backend.start(), try await Backend.start(),
        ]
        let channel = try Self.channel(to: backends, policy: .leastRequest(choiceCount: 3))
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        for index in 0..<10 { _ = try await client.get(.with { $0.text = "\(index)" }) }
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 3 })
        let before = backends.map(\.unaryCalls)
        // The first backend answers a call in 300 ms, the others at once: with 20 calls in
        // flight the first one's open calls pile up, and least_request, comparing three random
        // picks (with replacement, as gRFC A48 and grpc-go pick), sends it a call only when
        // all three land on it or it is no busier. Round robin would send it a third.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<20 {
                group.addTask {
                    for index in 0..<10 {
                        _ = try await client.get(.with { $0.text = "\(worker)-\(index)" })
                    }
                }
            }
            try await group.waitForAll()
        }
        let counts = zip(backends, before).map { $0.unaryCalls - $1 }
        #expect(counts.reduce(0, +) == 200)
        // Typically a few percent; on a machine loaded by the whole suite the fast servers
        // answer slowly too, and up to a fifth or so.
        #expect(counts[0] * 100 < 200 * 27, "least_request gave \(counts): the slow backend should get under 27 %")
        await channel.close()
        for backend in backends { await backend.server.shutdown(gracePeriod: .zero) }
    }

    @Test func theChannelReportsItsConnectivityState() async throws {
        try await Self.withBackends(1) { backends in
            let channel = try Self.channel(to: backends, policy: .pickFirst)
            #expect(await channel.connectivityState == .idle)
            var states = channel.connectivityStates().makeAsyncIterator()
            #expect(await states.next() == .idle)
            channel.connect()
            #expect(await states.next() == .connecting)
            #expect(await states.next() == .ready)
            await channel.close()
            #expect(await states.next() == .shutdown)
            #expect(await states.next() == nil)
        }
    }

    @Test func anUnusedChannelGoesIdleAndComesBack() async throws {
        try await Self.withBackends(1) { backends in
            let channel = try Self.channel(to: backends, policy: .roundRobin) { $0.idleTimeout = .milliseconds(200) }
            let history = NIOLockedValueBox<[ConnectivityState]>([])
            // Made here, not in the task: it registers before the first call goes to the loop.
            let states = channel.connectivityStates()
            let watcher = Task {
                for await state in states { history.withLockedValue { $0.append(state) } }
            }
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            _ = try await client.get(.with { $0.text = "1" })
            // Unused for the idle timeout: IDLE, its connection closed.
            #expect(await eventually(within: .seconds(10)) { await channel.connectivityState == .idle })
            // The next call connects again.
            _ = try await client.get(.with { $0.text = "2" })
            await channel.close()
            _ = await watcher.value
            let seen = history.withLockedValue { $0 }
            #expect(Array(seen.prefix(6)) == [.idle, .connecting, .ready, .idle, .connecting, .ready], "\(seen)")
            #expect(seen.last == .shutdown, "\(seen)")
            #expect(backends[0].unaryCalls == 2)
        }
    }

    /// A resolver the test steers: it reports whatever the test last set.
    final class SteeredResolver: NameResolverFactory, NameResolver {
        let scheme = "steered"
        private let state = NIOLockedValueBox<
            (listener: NameResolverListener?, resolution: NameResolution, asked: Int)
        >(
            (nil, NameResolution(addresses: []), 0)
        )

        func set(_ addresses: [ServerAddress], serviceConfig: String? = nil) {
            let resolution = NameResolution(addresses: addresses, serviceConfig: serviceConfig)
            let listener = self.state.withLockedValue { state -> NameResolverListener? in
                state.resolution = resolution
                return state.listener
            }
            listener?.resolved(resolution)
        }

        var timesAsked: Int { self.state.withLockedValue { $0.asked } }

        func makeResolver(for target: ChannelTarget) throws -> any NameResolver { self }

        func start(_ listener: NameResolverListener) {
            let resolution = self.state.withLockedValue { state in
                state.listener = listener
                return state.resolution
            }
            listener.resolved(resolution)
        }

        func resolveNow() { self.state.withLockedValue { $0.asked += 1 } }

        func shutdown() { self.state.withLockedValue { $0.listener = nil } }
    }

    @Test func reResolutionAddsNewBackendsAndDropsRemovedOnes() async throws {
        try await Self.withBackends(3) { backends in
            let resolver = SteeredResolver()
            resolver.set([backends[0].address])
            var configuration = GRPCChannel.Configuration()
            configuration.loadBalancing = .roundRobin
            configuration.nameResolvers = [resolver]
            let channel = try GRPCChannel(target: "steered:backends", configuration: configuration)
            let client = Grpcsimple_Echo_EchoClient(channel: channel)
            for index in 0..<10 { _ = try await client.get(.with { $0.text = "\(index)" }) }
            #expect(backends.map(\.unaryCalls) == [10, 0, 0])

            resolver.set([backends[1].address, backends[2].address])
            #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 2 })
            for index in 0..<20 { _ = try await client.get(.with { $0.text = "\(index)" }) }
            #expect(backends[0].unaryCalls == 10, "the removed backend gets no new call")
            #expect(backends[1].unaryCalls + backends[2].unaryCalls == 20)
            #expect(backends[1].unaryCalls > 0 && backends[2].unaryCalls > 0)

            // A backend that goes away makes the channel ask for fresh addresses.
            let asked = resolver.timesAsked
            await backends[2].server.shutdown(gracePeriod: .zero)
            #expect(await eventually(within: .seconds(10)) { resolver.timesAsked > asked })
            await channel.close()
        }
    }

    @Test func aChannelWithoutAddressesFailsFastAndWaitsForReady() async throws {
        let resolver = SteeredResolver()
        var configuration = GRPCChannel.Configuration()
        configuration.loadBalancing = .roundRobin
        configuration.nameResolvers = [resolver]
        let channel = try GRPCChannel(target: "steered:none", configuration: configuration)
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        let error = await expectRPCError { _ = try await client.get(.with { $0.text = "x" }) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("resolved to no address") == true, "\(String(describing: error))")
        // A call that waits for ready goes out once an address comes.
        let backend = try await Backend.start()
        let waiting = Task {
            try await client.get(
                .with { $0.text = "patient" }, options: CallOptions(timeout: .seconds(10), waitForReady: true))
        }
        try await Task.sleep(for: .milliseconds(100))
        resolver.set([backend.address])
        #expect(try await waiting.value.text == "patient")
        await channel.close()
        await backend.server.shutdown(gracePeriod: .zero)
    }
}

extension GRPCChannel {
    /// How many of the channel's subchannels are READY (for tests).
    func readySubchannelCount() async -> Int {
        let core = self.core
        return (try? await self.eventLoop.submit { core.value.readySubchannelCount }.get()) ?? 0
    }
}
