import ArgumentParser
import GRPCHealth
import GRPCReflection
import GRPCSimple
import Logging
import PersonService
import Prometheus
import ServiceLifecycle
import SpanLog

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

    @Option(help: "Serve Prometheus metrics (gRFC A66) at http://HOST:PORT/metrics on this port; 0 picks one.")
    var metricsPort: Int?

    @Flag(help: "Trace calls (W3C traceparent) and log each finished span as a line.")
    var tracing = false

    @Flag(inversion: .prefixedNo, help: "Log one line per call (method, peer, status, duration, bytes).")
    var accessLog = true

    @Option(
        name: .customLong("cors-origin"),
        help: "Let web pages from this origin (scheme://host[:port], or * for any) call from a browser; repeatable.")
    var corsOrigins: [String] = []

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
        configuration.observability.accessLog = self.accessLog
        if !self.corsOrigins.isEmpty {
            configuration.cors = CORSPolicy(allowedOrigins: self.corsOrigins)
        }
        let registry = PrometheusCollectorRegistry()
        if self.metricsPort != nil {
            configuration.observability.metrics = PrometheusSetup.factory(registry: registry)
        }
        if self.tracing {
            configuration.observability.tracer = SpanLogTracer(logger: Logger(label: "person-server.tracing"))
        }
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
        let services: [any GRPCService] = [PersonServer(), health]
        let server = Server(
            services: services + [ReflectionService(services: services)],
            interceptors: interceptors,
            workers: self.workers,
            configuration: configuration
        )
        try await server.start(host: self.host, port: self.port)
        var lifecycle: [any Service] = [server]
        var announcements: [String] = []
        if let metricsPort = self.metricsPort {
            let endpoint: MetricsEndpoint
            do {
                guard (0...65535).contains(metricsPort) else { throw ValidationError("not a port") }
                endpoint = try await MetricsEndpoint.start(host: self.host, port: metricsPort, registry: registry)
            } catch {
                await server.shutdown(gracePeriod: .zero)
                throw ValidationError("cannot serve metrics on \(self.hostForURL):\(metricsPort): \(error)")
            }
            lifecycle.append(endpoint)
            announcements.append("metrics on http://\(self.hostForURL):\(endpoint.port ?? metricsPort)/metrics")
        }
        announcements.append("listening on \(self.hostForURL):\(server.port ?? self.port)")

        // The server runs in a ServiceGroup: SIGTERM or SIGINT shuts it down gracefully
        // (calls in flight get Server.Configuration.shutdownGracePeriod). The lines a
        // supervisor waits for are printed once the group runs, its signal handlers in place.
        lifecycle.append(Announcement(lines: announcements))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: lifecycle.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "person-server.lifecycle")
            ))
        try await group.run()
    }

    private var hostForURL: String {
        self.host.contains(":") ? "[\(self.host)]" : self.host
    }
}

/// Prints lines (flushed) when the service group runs, then waits for shutdown.
private struct Announcement: Service {
    let lines: [String]

    func run() async throws {
        for line in self.lines { print(line) }
        fflush(nil)
        try? await gracefulShutdown()
    }
}
