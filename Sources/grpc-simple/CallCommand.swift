import ArgumentParser
import GRPCSimple

/// `grpc-simple call ADDRESS SERVICE/METHOD [-d JSON | -d @file | -d @-]`: any of the four
/// kinds of call, requests and responses in proto3 JSON.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a method with requests in JSON; print each response as JSON as it arrives.",
        discussion: """
            Unary and server-streaming methods take one request (default {}); client- and \
            bidirectional-streaming methods take any number of JSON documents, one after another \
            (default none). With -d @- they are read from standard input and each is sent as soon as \
            it is complete, so a bidirectional call works interactively. Field names may be the \
            JSON names (lowerCamelCase) or the .proto names. The exit status is the call's status code.
            """
    )

    @Argument(help: "The server: host:port, [ipv6]:port or unix:/path.")
    var address: String

    @Argument(help: "The method: SERVICE/METHOD or SERVICE.METHOD (e.g. grpc.health.v1.Health/Check).")
    var method: String

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("The requests: JSON, @file, or @- for standard input.", valueName: "json"))
    var data: String?

    @Flag(
        name: .customLong("emit-defaults"),
        help: "Also print fields that hold their default value (0, \"\", false, [], {}).")
    var emitDefaults = false

    @Flag(name: .shortAndLong, help: "Show the response's headers and trailers on standard error.")
    var verbose = false

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    @OptionGroup(title: "Schema")
    var schema: SchemaOptions

    func run() async throws {
        try await CommandFailure.reporting {
            try await Session.run(address: self.address, connection: self.connection, schema: self.schema) { session in
                let (method, pool) = try await session.method(named: self.method)
                let call = try DynamicCall(
                    session: session, method: method, pool: pool, emitDefaults: self.emitDefaults, verbose: self.verbose
                )
                try await call.run(data: self.data)
            }
        }
    }
}
