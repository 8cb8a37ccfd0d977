import ArgumentParser

/// `grpc-simple`: list, describe, call and health-check any gRPC server from the command
/// line, with schemas from server reflection or from `.proto` files.
@main
struct GRPCSimpleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc-simple",
        abstract: "Talk to any gRPC server: list its services, describe them, call them with JSON, check its health.",
        discussion: """
            ADDRESS is host:port, [ipv6]:port or unix:/path/to/socket. Connections use TLS unless \
            --plaintext is given. Schemas come from the server's reflection service (grpc.reflection.v1, \
            or v1alpha for servers that only have that), or from --proto files (compiled with protoc) \
            or a --protoset.

            The exit status is the gRPC status code of what failed (0 when everything succeeded): \
            14 UNAVAILABLE when the server cannot be reached, 3 INVALID_ARGUMENT for input that does not \
            fit, 5 NOT_FOUND for a service, method or symbol the schema does not have, 12 UNIMPLEMENTED \
            for a server without reflection, and the call's own status for a call that fails. A failure \
            prints one line on standard error: ERROR: CODE_NAME: message.
            """,
        subcommands: [ListCommand.self, DescribeCommand.self, CallCommand.self, HealthCommand.self]
    )
}
