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

    /// Reads grpc-go's boolean flag forms (`--use_tls`, `--use_tls true`, ...) before
    /// parsing; see `BooleanFlagArguments`.
    static func main() async {
        await Self.main(booleanFlags: ["use_tls"])
    }

    @Option(help: "Port to listen on (0: pick a free one, printed on start).")
    var port = 10000

    @Option(
        name: .customLong("use_tls"), help: "Serve over TLS: --use_tls, --use_tls=true|false or --use_tls true|false.")
    var useTLS = "false"

    @Option(
        name: .customLong("tls_cert_file"),
        help:
            "The server's PEM certificate chain (with --use_tls; default: a test certificate made with openssl, for localhost, 127.0.0.1 and *.test.google.fr)."
    )
    var certificateFile: String?

    @Option(name: .customLong("tls_key_file"), help: "The PEM private key of --tls_cert_file.")
    var keyFile: String?

    func validate() throws {
        guard ["true", "false"].contains(self.useTLS) else {
            throw ValidationError("--use_tls must be true or false, not '\(self.useTLS)'")
        }
        if (self.certificateFile == nil) != (self.keyFile == nil) {
            throw ValidationError("--tls_cert_file and --tls_key_file go together")
        }
        if self.useTLS == "false" && self.certificateFile != nil {
            throw ValidationError("--tls_cert_file needs --use_tls true")
        }
    }

    func run() async throws {
        var configuration = Server.Configuration()
        if self.useTLS == "true" {
            if let certificateFile, let keyFile {
                configuration.tls = ServerTLSConfiguration(
                    certificateChain: .file(path: certificateFile), privateKey: .file(path: keyFile))
            } else {
                let certificates = try TestCertificates.shared()
                configuration.tls = ServerTLSConfiguration(
                    certificateChain: .file(path: certificates.serverCertificatePath),
                    privateKey: .file(path: certificates.serverKeyPath)
                )
            }
        }
        let health = HealthService()
        health.setStatus(.serving, for: InteropTestService.serviceName)
        let services: [any GRPCService] = [InteropTestService(), health]
        let server = Server(services: services + [ReflectionService(services: services)], configuration: configuration)
        try await server.start(host: "127.0.0.1", port: self.port)
        server.shutdownOnTerminationSignals()  // before the line a supervisor waits for
        print("listening on 127.0.0.1:\(server.port ?? self.port)")
        fflush(nil)
        await server.waitForTermination()
    }
}
