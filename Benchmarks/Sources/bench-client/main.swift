// bench-client: the load generator with gRPC Simple's client (GRPCChannel and the generated
// AsillaServiceClient / StreamBenchClient). The workloads are LoadDriver's, shared with
// peer-client (grpc-swift-2); run `bench-client --help` for them.
import GRPCSimple
import LoadDriver
import SimpleBenchService

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Makes gRPC Simple channels; one `GRPCChannel` is one HTTP/2 connection, unless the
/// environment names a target of several addresses: `BENCH_TARGET` (e.g.
/// `ipv4:127.0.0.1:1,127.0.0.1:2`) with `BENCH_LB_POLICY` (`round_robin`, `pick_first`,
/// `least_request`), for the cost of load balancing.
struct SimpleFactory: BenchClientFactory {
    func connect(host: String, port: Int) async throws -> SimpleConnection {
        guard let target = getenv("BENCH_TARGET").map({ String(cString: $0) }) else {
            return SimpleConnection(channel: try GRPCChannel(host: host, port: port))
        }
        var configuration = GRPCChannel.Configuration()
        switch getenv("BENCH_LB_POLICY").map({ String(cString: $0) }) {
        case "round_robin": configuration.loadBalancing = .roundRobin
        case "least_request": configuration.loadBalancing = .leastRequest()
        default: configuration.loadBalancing = .pickFirst
        }
        return SimpleConnection(channel: try GRPCChannel(target: target, configuration: configuration))
    }
}

struct SimpleConnection: BenchConnection {
    let channel: GRPCChannel
    let asilla: AsillaServiceClient
    let streamBench: StreamBenchClient

    init(channel: GRPCChannel) {
        self.channel = channel
        self.asilla = AsillaServiceClient(channel: channel)
        self.streamBench = StreamBenchClient(channel: channel)
    }

    func getInfor(name: String) async throws -> Reply {
        var request = RequestInforPerson()
        request.name = name
        let person = try await self.asilla.getInfor(request)
        return Reply(name: person.name, id: person.id, married: person.married)
    }

    func echo<R: Sendable>(_ body: (SimpleEchoCall) async throws -> R) async throws -> R {
        try await self.streamBench.echo { requests, responses in
            try await body(SimpleEchoCall(requests: requests, responses: responses.makeAsyncIterator()))
        }
    }

    func close() async { await self.channel.close() }
}

/// One Echo call: the request writer and the response iterator, used from one task.
final class SimpleEchoCall: EchoCall {
    let requests: RequestWriter<Person>
    var responses: ResponseStream<Person>.AsyncIterator

    init(requests: RequestWriter<Person>, responses: ResponseStream<Person>.AsyncIterator) {
        self.requests = requests
        self.responses = responses
    }

    func send(name: String, id: Int32) async throws {
        var person = Person()
        person.name = name
        person.id = id
        person.married = id % 2 == 0
        try await self.requests.write(person)
    }

    func receive() async throws -> Reply? {
        guard let person = try await self.responses.next() else { return nil }
        return Reply(name: person.name, id: person.id, married: person.married)
    }

    func finishSending() async throws { self.requests.finish() }
}

await LoadDriver.main(client: "bench-client", factory: SimpleFactory())
