import ArgumentParser
import GRPCHealth
import GRPCReflection
import GRPCSimple
import InteropTesting

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The interop server of grpc/grpc `doc/interop-test-descriptions.md`: TestService on
/// 127.0.0.1:PORT (UnimplementedService is deliberately not served).
@main
struct InteropServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interop-server",
        abstract: "Serves grpc.testing.TestService for the gRPC interop test cases."
    )

    @Option(help: "Port to listen on (0: pick a free one, printed on start).")
    var port = 10000

    @Option(name: .customLong("use_tls"), help: "Serve over TLS (not supported yet).")
    var useTLS = "false"

    func run() async throws {
        guard self.useTLS == "false" else {
            throw ValidationError("--use_tls is not supported yet: gRPC Simple has no TLS (a later issue)")
        }
        let health = HealthService()
        health.setStatus(.serving, for: InteropTestService.serviceName)
        let services: [any GRPCService] = [InteropTestService(), health]
        let server = Server(services: services + [ReflectionService(services: services)])
        try await server.start(host: "127.0.0.1", port: self.port)
        server.shutdownOnTerminationSignals()  // before the line a supervisor waits for
        print("listening on 127.0.0.1:\(server.port ?? self.port)")
        fflush(nil)
        await server.waitForTermination()
    }
}
