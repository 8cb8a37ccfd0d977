import GRPCSimple
import Logging

/// The seed's `PersonServer`: `getInfor` returns the name with a random id, married when
/// that id is even; `checkMarried` answers with a random bool. Each call is logged to
/// the server's logger (`ServerContext.logger`: with the call's method, peer and, when the
/// caller sent a `traceparent`, its trace id).
public struct PersonServer: AsillaServiceProvider {
    /// The seed's server.
    public init() {}

    /// Returns the person named in the request, with a random id (married when it is even).
    public func getInfor(request: RequestInforPerson, context: ServerContext) async throws -> Person {
        let id = Int32.random(in: 1...1000)
        let person = Person.with {
            $0.name = request.name
            $0.id = id
            $0.married = id % 2 == 0
        }
        context.logger.info("getInfor", metadata: ["name": "\(request.name)", "id": "\(id)"])
        return person
    }

    /// Answers at random whether the named person is married.
    public func checkMarried(request: RequestCheckMaritalStatus, context: ServerContext) async throws
        -> RespondGetMaritalStatus
    {
        let married = Bool.random()
        context.logger.info("checkMarried", metadata: ["name": "\(request.name)", "married": "\(married)"])
        return RespondGetMaritalStatus.with { $0.married = married }
    }
}
