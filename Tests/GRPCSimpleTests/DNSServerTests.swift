import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestServices
import Testing

@testable import GRPCSimple

/// `dns://server/host` targets: the DNS codec on its own, and the resolver asking a DNS
/// server of the test's over UDP on 127.0.0.1.
@Suite struct DNSServerTests {
    // MARK: The codec

    @Test func aQueryIsWhatRFC1035Says() throws {
        let query = try DNSMessage.query(id: 0xBEEF, name: "api.example", type: .aaaa)
        let expected: [UInt8] =
            [0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]  // id, RD, 1 question, 1 additional
            + [3] + Array("api".utf8) + [7] + Array("example".utf8) + [0] + [0, 28, 0, 1]  // AAAA IN
            + [0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0]  // EDNS: 4096-byte UDP answers
        #expect(Array(query.readableBytesView) == expected)
        for bad in [
            "", "a..b", String(repeating: "x", count: 64) + ".example",
            Array(repeating: "abcdefghi", count: 26).joined(separator: "."),
        ] {
            #expect(throws: DNSMessage.ParseError.self) { _ = try DNSMessage.query(id: 1, name: bad, type: .a) }
        }
    }

    @Test func aResponseGivesTheAddressesAtTheEndOfItsCNAMEChain() throws {
        var bytes: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0]
        bytes += [3] + Array("api".utf8) + [7] + Array("example".utf8) + [0] + [0, 1, 0, 1]  // question at 12
        // api.example CNAME edge.cdn.example (a label, then "example" by pointer to offset 16).
        bytes +=
            [0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 11] + [4] + Array("edge".utf8) + [3] + Array("cdn".utf8)
            + [0xC0, 16]
        let edge = 12 + 17 + 12  // where "edge.cdn.example" starts
        // edge.cdn.example A 10.0.0.1 and A 10.0.0.2; other.example A 10.9.9.9 (not in the chain).
        bytes += [0xC0, UInt8(edge), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]
        bytes += [0xC0, UInt8(edge), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 2]
        bytes += [5] + Array("other".utf8) + [0xC0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 9, 9]
        let response = try DNSMessage.parse(ByteBuffer(bytes: bytes), port: 8443)
        #expect(response.id == 0x1234 && response.isResponse && !response.isTruncated && response.responseCode == 0)
        #expect(response.questionName == "api.example" && response.questionType == 1)
        #expect(response.answers.count == 4)
        #expect(response.answers[0].data == .cname("edge.cdn.example"))
        #expect(
            response.addresses(of: "API.example.")
                == [
                    try SocketAddress(ipAddress: "10.0.0.1", port: 8443),
                    try SocketAddress(ipAddress: "10.0.0.2", port: 8443),
                ])
    }

    @Test(
        arguments: [
            ([0x12, 0x34, 0x81], "the message ends inside the header"),
            ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1], "points forwards"),  // itself
            ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 40], "points forwards"),
            ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 1], "label of unknown kind"),
            ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0x61], "ends inside a name"),
            ([0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 1], "runs past the end"),
            (
                [0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3],
                "an A record of 3 bytes"
            ),
        ] as [([UInt8], String)])
    func aBrokenResponseIsAnErrorThatSaysWhere(bytes: [UInt8], problem: String) {
        do {
            _ = try DNSMessage.parse(ByteBuffer(bytes: bytes), port: 1)
            Issue.record("parsed \(bytes)")
        } catch {
            #expect(error.description.contains(problem), "\(error)")
        }
    }

    @Test func aNameOfMoreThan255BytesIsRefused() {
        // 200 labels of one byte, each "a": 400 bytes.
        var bytes: [UInt8] = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]
        for _ in 0..<200 { bytes += [1, 0x61] }
        bytes += [0, 0, 1, 0, 1]
        #expect(throws: DNSMessage.ParseError(description: "a name in question 1 is longer than 255 bytes")) {
            _ = try DNSMessage.parse(ByteBuffer(bytes: bytes), port: 1)
        }
    }

    // MARK: The resolver against a server

    @Test func aChannelFindsItsBackendsAtTheDNSServerItNames() async throws {
        let dns = try await TestDNSServer.start(records: [:])
        let backends = try await Self.backendsOnOnePort(hosts: ["127.0.0.2", "127.0.0.3"])
        dns.records.withLockedValue { $0["backends.test"] = ["127.0.0.2", "127.0.0.3"] }
        var configuration = GRPCChannel.Configuration()
        configuration.loadBalancing = .roundRobin
        let channel = try GRPCChannel(
            target: "dns://127.0.0.1:\(dns.port)/backends.test:\(backends[0].port)", configuration: configuration)
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        channel.connect()
        #expect(await eventually(within: .seconds(20)) { await channel.readySubchannelCount() == 2 })
        for index in 0..<10 { _ = try await client.get(.with { $0.text = "\(index)" }) }
        #expect(backends.allSatisfy { $0.backend.unaryCalls == 5 })
        #expect(dns.questions.withLockedValue { $0 }.contains("backends.test A"))
        await channel.close()
        for backend in backends { await backend.backend.server.shutdown(gracePeriod: .zero) }
        await dns.stop()
    }

    @Test func aNameTheServerDoesNotKnowFailsTheCallWithItsAnswer() async throws {
        let dns = try await TestDNSServer.start(records: [:])
        let channel = try GRPCChannel(target: "dns://127.0.0.1:\(dns.port)/nowhere.test:1")
        let error = await expectRPCError {
            _ = try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "x" })
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("answered NXDOMAIN for 'nowhere.test'") == true, "\(String(describing: error))")
        await channel.close()
        await dns.stop()
    }

    @Test func aSilentServerFailsTheCallNamingIt() async throws {
        let dns = try await TestDNSServer.start(records: [:], silent: true)
        let channel = try GRPCChannel(target: "dns://127.0.0.1:\(dns.port)/quiet.test:1")
        let error = await expectRPCError {
            _ = try await Grpcsimple_Echo_EchoClient(channel: channel).get(
                .with { $0.text = "x" }, options: CallOptions(timeout: .seconds(20)))
        }
        #expect(error?.code == .unavailable)
        #expect(
            error?.message.contains("the DNS server 127.0.0.1:\(dns.port)") == true
                && error?.message.contains("did not answer for 'quiet.test' within 5.0 seconds") == true,
            "\(String(describing: error))")
        // It asked again while it waited.
        #expect(dns.questions.withLockedValue { $0.filter { $0 == "quiet.test A" }.count } >= 2)
        await channel.close()
        await dns.stop()
    }

    @Test func aDNSServerMustBeAnIPAddress() throws {
        for target in ["dns://dns.example/api.example", "dns://10.0.0.53:x/api.example"] {
            let error = #expect(throws: RPCError.self) { _ = try GRPCChannel(target: target) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("must be an IP address with an optional port") == true)
        }
        #expect(
            try DNSResolverFactory.server(named: "[::1]:5353", in: ChannelTarget(parsing: "dns://[::1]:5353/a"))
                == SocketAddress(ipAddress: "::1", port: 5353))
        #expect(
            try DNSResolverFactory.server(named: "10.0.0.53", in: ChannelTarget(parsing: "dns://10.0.0.53/a"))
                == SocketAddress(ipAddress: "10.0.0.53", port: 53))
    }

    /// Backends on `hosts`, all on one port (the system picks it for the first).
    static func backendsOnOnePort(hosts: [String]) async throws -> [(backend: LoadBalancingTests.Backend, port: Int)] {
        for _ in 0..<5 {
            let first = try await LoadBalancingTests.Backend.start(host: hosts[0])
            let port = first.server.port!
            var started = [(first, port)]
            do {
                for host in hosts.dropFirst() {
                    started.append((try await LoadBalancingTests.Backend.start(host: host, port: port), port))
                }
                return started
            } catch {
                for (backend, _) in started { await backend.server.shutdown(gracePeriod: .zero) }
            }
        }
        throw RPCError(.unavailable, "no port free on all of \(hosts)")
    }
}

/// A DNS server for tests, on 127.0.0.1 over UDP: it answers A queries from `records`
/// (NXDOMAIN for a name it does not have, no records for AAAA), or nothing when `silent`.
/// Its messages are written by hand here, not with `DNSMessage`, so the two check each other.
final class TestDNSServer: Sendable {
    let channel: any Channel
    let port: Int
    /// Name → IPv4 addresses.
    let records: NIOLockedValueBox<[String: [String]]>
    /// Each question heard, as "name TYPE".
    let questions: NIOLockedValueBox<[String]>

    private init(
        channel: any Channel, records: NIOLockedValueBox<[String: [String]]>, questions: NIOLockedValueBox<[String]>
    ) {
        self.channel = channel
        self.port = channel.localAddress!.port!
        self.records = records
        self.questions = questions
    }

    static func start(records: [String: [String]], silent: Bool = false) async throws -> TestDNSServer {
        let table = NIOLockedValueBox(records)
        let questions = NIOLockedValueBox<[String]>([])
        // A thread of its own, as the test servers have: the shared loops are busy when the
        // whole suite runs.
        let channel = try await DatagramBootstrap(group: Self.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        Responder(records: table, questions: questions, silent: silent))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestDNSServer(channel: channel, records: table, questions: questions)
    }

    func stop() async {
        try? await self.channel.close()
    }

    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    final class Responder: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let records: NIOLockedValueBox<[String: [String]]>
        let questions: NIOLockedValueBox<[String]>
        let silent: Bool

        init(records: NIOLockedValueBox<[String: [String]]>, questions: NIOLockedValueBox<[String]>, silent: Bool) {
            self.records = records
            self.questions = questions
            self.silent = silent
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = self.unwrapInboundIn(data)
            let query = Array(envelope.data.readableBytesView)
            guard query.count > 12 else { return }
            // The question: labels from offset 12 (queries are not compressed), type, class.
            var labels: [String] = []
            var offset = 12
            while offset < query.count, query[offset] != 0 {
                let length = Int(query[offset])
                guard offset + 1 + length <= query.count else { return }
                labels.append(String(decoding: query[(offset + 1)..<(offset + 1 + length)], as: UTF8.self))
                offset += 1 + length
            }
            guard offset + 5 <= query.count else { return }
            let questionEnd = offset + 5
            let type = UInt16(query[offset + 1]) << 8 | UInt16(query[offset + 2])
            let name = labels.joined(separator: ".")
            self.questions.withLockedValue { $0.append("\(name) \(type == 1 ? "A" : type == 28 ? "AAAA" : "\(type)")") }
            guard !self.silent else { return }
            let addresses = self.records.withLockedValue { $0[name] }
            var answer: [UInt8] = [query[0], query[1], 0x81, addresses == nil ? 0x83 : 0x80, 0, 1]
            let records = type == 1 ? (addresses ?? []) : []
            answer += [0, UInt8(records.count), 0, 0, 0, 0]
            answer += query[12..<questionEnd]
            for address in records {
                let octets = address.split(separator: ".").compactMap { UInt8($0) }
                answer += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4] + octets
            }
            let reply = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: answer))
            context.writeAndFlush(self.wrapOutboundOut(reply), promise: nil)
        }
    }
}
