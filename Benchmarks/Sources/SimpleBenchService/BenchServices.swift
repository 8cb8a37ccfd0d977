import GRPCSimple

/// The seed's `AsillaService`, deterministic for benchmarks:
/// `getInfor(name)` → `Person(name, id = Unicode scalars in name, married = id is even)`,
/// `checkMarried(name)` → `married = that count is even`.
public struct BenchAsillaService: AsillaServiceProvider {
    public init() {}

    public func getInfor(request: RequestInforPerson, context: ServerContext) async throws -> Person {
        let count = Int32(request.name.unicodeScalars.count)
        var person = Person()
        person.name = request.name
        person.id = count
        person.married = count % 2 == 0
        return person
    }

    public func checkMarried(request: RequestCheckMaritalStatus, context: ServerContext) async throws
        -> RespondGetMaritalStatus
    {
        var response = RespondGetMaritalStatus()
        response.married = request.name.unicodeScalars.count % 2 == 0
        return response
    }
}

/// `StreamBench.Echo`: every `Person` back, in order; ends when the client ends.
public struct BenchStreamService: StreamBenchProvider {
    public init() {}

    public func echo(requests: RequestStream<Person>, responses: ResponseWriter<Person>, context: ServerContext)
        async throws
    {
        for try await person in requests {
            try await responses.write(person)
        }
    }
}
