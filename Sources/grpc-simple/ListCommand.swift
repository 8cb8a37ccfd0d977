import ArgumentParser

/// `grpc-simple list ADDRESS [SERVICE]`: the services, or one service's methods.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the server's services, or one service's methods.",
        discussion: "Services come from the server's reflection (or --proto / --protoset), one per line, sorted."
    )

    @Argument(help: "The server: host:port, [ipv6]:port or unix:/path.")
    var address: String

    @Argument(help: "A service whose methods to list (e.g. grpc.health.v1.Health).")
    var service: String?

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    @OptionGroup(title: "Schema")
    var schema: SchemaOptions

    func run() async throws {
        try await CommandFailure.reporting {
            try await Session.run(address: self.address, connection: self.connection, schema: self.schema) { session in
                if let name = self.service {
                    let (service, _) = try await session.service(named: name)
                    for method in service.methods { Output.line("\(service.fullName).\(method.name)") }
                } else {
                    for name in try await session.source.serviceNames() { Output.line(name) }
                }
            }
        }
    }
}
