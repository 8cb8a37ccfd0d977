import ArgumentParser
import GRPCHealth
import GRPCReflection
import GRPCSimple
import Logging
import PersonService

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves the seed's AsillaService, as the seed's `person_server.py` does.
@main
struct PersonServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person-server",
        abstract: "Serves AsillaService (the seed's person.proto) over gRPC."
    )

    @Option(help: "The address to listen on: 0.0.0.0 or :: for every interface, 127.0.0.1 for this machine.")
    var host = "0.0.0.0"

    @Option(help: "The port to listen on; 0 picks a free one.")
    var port = 50051

    @Option(help: "Worker threads serving connections.")
    var workers = Server.defaultWorkerCount

    @Option(help: "Least severe log level written: trace, debug, info (one line per call), warning, error.")
    var logLevel = "info"

    @Option(help: "Serve over TLS with this PEM certificate chain (needs --tls-key-file).")
    var tlsCertFile: String?

    @Option(help: "The PEM private key of --tls-cert-file.")
    var tlsKeyFile: String?

    @Option(help: "Require 'authorization: Bearer <token>' with this token on every call (health checks excepted).")
    var authToken: String?

    func run() async throws {
        // One timestamped line per event, flushed as it happens, so that
        // `nohup person-server >> log.log &` keeps a readable log.
        guard let level = Logger.Level(rawValue: self.logLevel) else {
            throw ValidationError("unknown log level '\(self.logLevel)'")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = Server.Configuration()
        configuration.logger = Logger(label: "person-server")
        switch (self.tlsCertFile, self.tlsKeyFile) {
        case (let cert?, let key?):
            configuration.tls = ServerTLSConfiguration(
                certificateChain: .file(path: cert), privateKey: .file(path: key))
        case (nil, nil):
            break
        default:
            throw ValidationError("--tls-cert-file and --tls-key-file go together")
        }
        var interceptors: [any ServerInterceptor] = []
        if let expected = self.authToken {
            // Health stays open: load balancers and Kubernetes probes send no token.
            interceptors.append(
                BearerTokenAuthenticator(exemptServices: [HealthService.serviceName]) { token, _ in
                    token == expected ? "token holder" : nil
                })
        }

        // Health checking (grpc.health.v1: grpc_health_probe, Kubernetes) and server
        // reflection (grpcurl, grpcio-reflection) out of the box.
        let health = HealthService()
        health.setStatus(.serving, for: PersonServer.serviceName)
        let services: [any GRPCService] = [PersonServer(logger: Logger(label: "person-server")), health]
        let server = Server(
            services: services + [ReflectionService(services: services)],
            interceptors: interceptors,
            workers: self.workers,
            configuration: configuration
        )
        try await server.start(host: self.host, port: self.port)
        server.shutdownOnTerminationSignals(gracePeriod: .seconds(5))  // before the line a supervisor waits for
        let port = server.port ?? self.port
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        print("listening on \(host):\(port)")
        fflush(nil)

        await server.waitForTermination()
    }
}
