import GRPCCore

/// The seed's `AsillaService` on grpc-swift-2, with the same deterministic logic as
/// gRPC Simple's `BenchAsillaService`.
public struct PeerAsillaService: AsillaService.SimpleServiceProtocol {
    public init() {}

    public func getInfor(request: RequestInforPerson, context: GRPCCore.ServerContext) async throws -> Person {
        let count = Int32(request.name.unicodeScalars.count)
        var person = Person()
        person.name = request.name
        person.id = count
        person.married = count % 2 == 0
        return person
    }

    public func checkMarried(
        request: RequestCheckMaritalStatus,
        context: GRPCCore.ServerContext
    ) async throws -> RespondGetMaritalStatus {
        var response = RespondGetMaritalStatus()
        response.married = request.name.unicodeScalars.count % 2 == 0
        return response
    }
}

/// `StreamBench.Echo` on grpc-swift-2: every `Person` back, in order.
public struct PeerStreamService: StreamBench.SimpleServiceProtocol {
    public init() {}

    public func echo(
        request: RPCAsyncSequence<Person, any Error>,
        response: RPCWriter<Person>,
        context: GRPCCore.ServerContext
    ) async throws {
        for try await person in request {
            try await response.write(person)
        }
    }
}
