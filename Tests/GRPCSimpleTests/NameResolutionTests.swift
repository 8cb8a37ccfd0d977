import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import GRPCSimple

/// Targets (grpc/grpc `doc/naming.md`) and the built-in resolvers, without a server.
@Suite struct NameResolutionTests {
    @Test(
        arguments: [
            ("localhost:50051", "dns", nil, "localhost:50051"),
            ("127.0.0.1:50051", "dns", nil, "127.0.0.1:50051"),
            ("[::1]:50051", "dns", nil, "[::1]:50051"),
            ("dns:///example.com:443", "dns", nil, "example.com:443"),
            ("dns://8.8.8.8/example.com", "dns", "8.8.8.8", "example.com"),
            ("dns:example.com", "dns", nil, "example.com"),
            ("ipv4:10.0.0.1:1,10.0.0.2", "ipv4", nil, "10.0.0.1:1,10.0.0.2"),
            ("ipv6:[::1]:80,::2", "ipv6", nil, "[::1]:80,::2"),
            ("unix:/tmp/s", "unix", nil, "/tmp/s"),
            ("unix:///tmp/s", "unix", nil, "/tmp/s"),
            ("unix-abstract:grpc", "unix-abstract", nil, "grpc"),
            ("UNIX:relative.sock", "unix", nil, "relative.sock"),
            ("registry:payments", "dns", nil, "registry:payments"),
        ] as [(String, String, String?, String)])
    func targetsParseAsNamingSays(text: String, scheme: String, authority: String?, endpoint: String) {
        let target = ChannelTarget(parsing: text)
        #expect(target.scheme == scheme)
        #expect(target.authority == authority)
        #expect(target.endpoint == endpoint)
    }

    @Test func aRegisteredSchemeIsItsOwn() {
        let target = ChannelTarget(parsing: "registry:payments", knownSchemes: ["registry"])
        #expect(target == ChannelTarget(scheme: "registry", endpoint: "payments"))
        #expect(target.description == "registry:payments")
    }

    @Test func fixedAddressTargetsNameTheirAddresses() throws {
        let two = try FixedAddressResolver.addresses(of: ChannelTarget(parsing: "ipv4:127.0.0.1:1,127.0.0.2"))
        #expect(two == [try .ip("127.0.0.1", port: 1), try .ip("127.0.0.2", port: 443)])
        let six = try FixedAddressResolver.addresses(of: ChannelTarget(parsing: "ipv6:[::1]:8,::1"))
        #expect(six == [try .ip("::1", port: 8), try .ip("::1", port: 443)])
        #expect(
            try FixedAddressResolver.addresses(of: ChannelTarget(parsing: "unix-abstract:a")) == [.unixAbstract("a")])
        #expect(
            try FixedAddressResolver.addresses(of: ChannelTarget(parsing: "unix:/tmp/x")) == [try .unix(path: "/tmp/x")]
        )
    }

    @Test(arguments: [
        ("ipv4:", "lists no address"),
        ("ipv4:1.2.3", "is not an IPv4 or IPv6 address"),
        ("ipv4:::1", "is not an ipv4 address"),
        ("ipv6:[::1]:80,127.0.0.1", "is not an ipv6 address"),
        ("ipv4:127.0.0.1:99999", "is not an address[:port]"),
        ("unix:", "has no socket path"),
        ("unix-abstract:", "abstract socket name"),
    ])
    func badFixedAddressTargetsSayWhatIsWrong(text: String, problem: String) {
        do {
            _ = try FixedAddressResolver.addresses(of: ChannelTarget(parsing: text))
            Issue.record("\(text) should not resolve")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(problem), "\(error.message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func aChannelToATargetNobodyCanResolveFailsWhenMade() {
        for (target, problem) in [
            ("", "is not host[:port]"), ("dns://dns.example/example.com", "must be an IP address"),
            ("ipv4:nonsense", "is not an IPv4 or IPv6 address"),
        ] {
            do {
                _ = try GRPCChannel(target: target)
                Issue.record("\(target) should fail")
            } catch let error as RPCError {
                #expect(error.message.contains(problem), "\(error.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func dnsResolvesLocalhostToLoopbackAddresses() throws {
        let addresses = try DNSResolver.addresses(host: "localhost", port: 50051)
        #expect(addresses.contains(try .ip("127.0.0.1", port: 50051)))
        #expect(try DNSResolver.addresses(host: "127.0.0.7", port: 1) == [try .ip("127.0.0.7", port: 1)])
        let error = #expect(throws: RPCError.self) {
            _ = try DNSResolver.addresses(host: "no-such-host.invalid", port: 1)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("could not resolve 'no-such-host.invalid'") == true)
    }

    @Test func dnsLooksUpAtMostOncePerMinimumInterval() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let resolver = DNSResolver(host: "localhost", port: 1, minimumInterval: .milliseconds(300), eventLoop: loop)
        let results = NIOLockedValueBox<[ContinuousClock.Instant]>([])
        resolver.start(NameResolverListener { _ in results.withLockedValue { $0.append(.now) } })
        #expect(await eventually(within: .seconds(10)) { results.withLockedValue { $0.count } == 1 })
        // Asked three times at once, right after the first lookup: one more lookup, no sooner than the interval.
        resolver.resolveNow()
        resolver.resolveNow()
        resolver.resolveNow()
        #expect(await eventually(within: .seconds(10)) { results.withLockedValue { $0.count } == 2 })
        try await Task.sleep(for: .milliseconds(400))
        let times = results.withLockedValue { $0 }
        #expect(times.count == 2)
        #expect(times[1] - times[0] >= .milliseconds(290))
        resolver.shutdown()
    }
}
