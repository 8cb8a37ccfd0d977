// peer-client: the load generator with grpc-swift-2's client (`GRPCClient` over
// `HTTP2ClientTransport.Posix`, plaintext, the transport's default settings). The workloads
// are LoadDriver's, shared with bench-client; run `peer-client --help` for them.
import GRPCCore
import GRPCNIOTransportHTTP2
import LoadDriver
import PeerBenchService

/// One `GRPCClient` per connection: with one address and the default (pick-first) load
/// balancing, a client keeps one HTTP/2 connection.
struct PeerFactory: BenchClientFactory {
    func connect(host: String, port: Int) async throws -> PeerConnection {
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: host, port: port),
            transportSecurity: .plaintext
        )
        let client = GRPCClient(transport: transport)
        let running = Task { try await client.runConnections() }
        return PeerConnection(client: client, running: running)
    }
}

struct PeerConnection: BenchConnection {
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let running: Task<Void, any Error>

    func getInfor(name: String) async throws -> Reply {
        var request = RequestInforPerson()
        request.name = name
        let person = try await AsillaService.Client(wrapping: self.client).getInfor(request)
        return Reply(name: person.name, id: person.id, married: person.married)
    }

    /// grpc-swift-2 hands the request writer to a producer closure and the responses to a
    /// response closure, each in its own task, and ends the requests when the producer
    /// returns. To run `body` in one task, as the driver wants, the RPC runs in a child task
    /// whose closures hand the writer and the responses over (`Handoff`) and wait until the
    /// body ends the requests (`finished`) and is done (`done`).
    func echo<R: Sendable>(_ body: (PeerEchoCall) async throws -> R) async throws -> R {
        let writer = Handoff<RPCWriter<Person>>()
        let responses = Handoff<StreamingClientResponse<Person>>()
        let finished = Signal()
        let done = Signal()
        let streamBench = StreamBench.Client(wrapping: self.client)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await streamBench.echo(
                        request: StreamingClientRequest(of: Person.self) { requestWriter in
                            writer.put(requestWriter)
                            await finished.wait()
                        },
                        onResponse: { response in
                            responses.put(response)
                            await done.wait()
                        }
                    )
                    let ended = DriverError("Echo ended before the client was done with it")
                    writer.fail(ended)
                    responses.fail(ended)
                } catch {
                    writer.fail(error)
                    responses.fail(error)
                    throw error
                }
            }
            do {
                let call = PeerEchoCall(writer: try await writer.take(), responses: responses, finished: finished)
                let result = try await body(call)
                finished.fire()
                done.fire()
                try await group.waitForAll()
                return result
            } catch {
                finished.fire()
                done.fire()
                group.cancelAll()
                throw error
            }
        }
    }

    func close() async {
        self.client.beginGracefulShutdown()
        _ = try? await self.running.value
    }
}

/// One Echo call on grpc-swift-2, used from the task that runs the driver's body.
final class PeerEchoCall: EchoCall {
    let writer: RPCWriter<Person>
    let responses: Handoff<StreamingClientResponse<Person>>
    let finished: Signal
    var iterator: RPCAsyncSequence<Person, any Error>.AsyncIterator?

    init(writer: RPCWriter<Person>, responses: Handoff<StreamingClientResponse<Person>>, finished: Signal) {
        self.writer = writer
        self.responses = responses
        self.finished = finished
    }

    func send(name: String, id: Int32) async throws {
        var person = Person()
        person.name = name
        person.id = id
        person.married = id % 2 == 0
        try await self.writer.write(person)
    }

    func receive() async throws -> Reply? {
        if self.iterator == nil {
            self.iterator = try await self.responses.take().messages.makeAsyncIterator()
        }
        guard let person = try await self.iterator!.next() else { return nil }
        return Reply(name: person.name, id: person.id, married: person.married)
    }

    func finishSending() async throws { self.finished.fire() }
}

await LoadDriver.main(client: "peer-client", factory: PeerFactory())
