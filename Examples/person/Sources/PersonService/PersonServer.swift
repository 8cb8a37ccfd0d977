import GRPCSimple

/// The seed's `PersonServer`: `getInfor` returns the name with a random id, married when
/// that id is even; `checkMarried` answers with a random bool.
public struct PersonServer: AsillaServiceProvider {
    public init() {}

    public func getInfor(request: RequestInforPerson, context: ServerContext) async throws -> Person {
        let id = Int32.random(in: 1...1000)
        return Person.with {
            $0.name = request.name
            $0.id = id
            $0.married = id % 2 == 0
        }
    }

    public func checkMarried(request: RequestCheckMaritalStatus, context: ServerContext) async throws -> RespondGetMaritalStatus {
        RespondGetMaritalStatus.with { $0.married = Bool.random() }
    }
}
