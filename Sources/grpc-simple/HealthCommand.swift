import ArgumentParser
import GRPCHealth
import GRPCSimple

/// `grpc-simple health ADDRESS [SERVICE] [--watch]`: grpc.health.v1 Check (or Watch); exit 0
/// only when SERVING, so it serves as a container's health probe.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check a server's health (grpc.health.v1); exit 0 only when SERVING.",
        discussion: """
            Prints the status (SERVING, NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN). The exit status is 0 \
            for SERVING and 14 (UNAVAILABLE) for any other status; a check that fails exits with its \
            status code (5 NOT_FOUND for a service the server does not know, 12 UNIMPLEMENTED for a \
            server without health checking, 14 when it cannot be reached). With --watch, every status \
            is printed as it changes until the server ends the stream, --max-time passes or the \
            command is stopped; the exit status follows the last one.
            """
    )

    @Argument(help: "The server: host:port, [ipv6]:port or unix:/path.")
    var address: String

    @Argument(help: "The service to check; empty (the default) for the whole server.")
    var service: String = ""

    @Flag(help: "Watch: print each status change until the stream ends.")
    var watch = false

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    func run() async throws {
        try await CommandFailure.reporting {
            let channel = try self.connection.channel(to: self.address)
            let options = try self.connection.callOptions(start: .now)
            let client = Grpc_Health_V1_HealthClient(channel: channel)
            let request = Grpc_Health_V1_HealthCheckRequest.with { $0.service = self.service }
            var last: Grpc_Health_V1_HealthCheckResponse.ServingStatus = .unknown
            do {
                if self.watch {
                    for try await response in client.watch(request, options: options) {
                        last = response.status
                        Output.line(Self.name(last))
                    }
                } else {
                    last = try await client.check(request, options: options).status
                    Output.line(Self.name(last))
                }
            } catch let error as RPCError where error.code == .deadlineExceeded && self.watch {
                // --max-time ended the watch: the last status decides.
            } catch {
                await channel.close()
                throw error
            }
            await channel.close()
            if last != .serving { throw ExitCode(Int32(StatusCode.unavailable.rawValue)) }
        }
    }

    static func name(_ status: Grpc_Health_V1_HealthCheckResponse.ServingStatus) -> String {
        switch status {
        case .unknown: "UNKNOWN"
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .serviceUnknown: "SERVICE_UNKNOWN"
        case .UNRECOGNIZED(let number): "UNRECOGNIZED(\(number))"
        }
    }
}
