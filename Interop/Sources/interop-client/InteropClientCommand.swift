import ArgumentParser
import GRPCSimple
import InteropTesting

/// The interop client of grpc/grpc `doc/interop-test-descriptions.md`: runs one case, or
/// all, against a TestService server; one line per case and `N passed, M failed`.
@main
struct InteropClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interop-client",
        abstract: "Runs gRPC interop test cases against a grpc.testing.TestService server."
    )

    /// Reads grpc-go's boolean flag forms (`--use_tls`, `--use_tls true`, ...) before
    /// parsing; see `BooleanFlagArguments`.
    static func main() async {
        await Self.main(booleanFlags: ["use_tls", "use_test_ca"])
    }

    @Option(name: .customLong("server_host"), help: "Server host.")
    var serverHost = "127.0.0.1"

    @Option(name: .customLong("server_port"), help: "Server port.")
    var serverPort = 10000

    @Option(
        name: .customLong("test_case"),
        help:
            "A case name, several separated by commas, or `all` (grpc's cases; status_details is ours and runs only by name)."
    )
    var testCase = "large_unary"

    @Option(name: .customLong("soak_iterations"), help: "Iterations of rpc_soak and channel_soak.")
    var soakIterations = 10

    @Option(name: .customLong("use_tls"), help: "Use TLS: --use_tls, --use_tls=true|false or --use_tls true|false.")
    var useTLS = "false"

    @Option(
        name: .customLong("use_test_ca"),
        help:
            "Trust the test CA (with --use_tls): the one interop-server makes with openssl, unless --ca_file names another."
    )
    var useTestCA = "false"

    @Option(
        name: .customLong("ca_file"),
        help: "PEM file of the CA certificates to trust (with --use_tls; default: the system's).")
    var caFile: String?

    @Option(
        name: .customLong("server_host_override"),
        help: "TLS server name, for SNI and certificate checks (with --use_tls).")
    var serverHostOverride: String?

    @Option(
        name: .customLong("service_config_json"),
        help: "A service config for the channel, as JSON (grpc-go's flag): retries, timeouts, load balancing.")
    var serviceConfigJSON: String?

    func validate() throws {
        for (flag, value) in [("--use_tls", self.useTLS), ("--use_test_ca", self.useTestCA)]
        where !["true", "false"].contains(value) {
            throw ValidationError("\(flag) must be true or false, not '\(value)'")
        }
        if self.useTLS == "false" && (self.useTestCA == "true" || self.caFile != nil) {
            throw ValidationError("--use_test_ca and --ca_file need --use_tls true")
        }
    }

    /// The channel's TLS from the flags: --ca_file, else the test CA with --use_test_ca,
    /// else the system's roots.
    func tlsConfiguration() throws -> ClientTLSConfiguration? {
        guard self.useTLS == "true" else { return nil }
        let roots: ClientTLSConfiguration.TrustRoots
        if let caFile = self.caFile {
            roots = .pem(.file(path: caFile))
        } else if self.useTestCA == "true" {
            roots = .pem(.file(path: try TestCertificates.shared().caCertificatePath))
        } else {
            roots = .systemDefault
        }
        return ClientTLSConfiguration(trustRoots: roots, serverName: self.serverHostOverride)
    }

    func run() async throws {
        let cases: [InteropTestCase]
        if self.testCase == "all" {
            cases = InteropTestCase.standard
        } else {
            // One name, or several separated by commas.
            cases = try self.testCase.split(separator: ",").map { name in
                guard let named = InteropTestCase(rawValue: String(name)) else {
                    throw ValidationError(
                        "unknown --test_case '\(name)'; one of: all, \(InteropTestCase.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                return named
            }
        }
        var configuration = GRPCChannel.Configuration()
        configuration.tls = try self.tlsConfiguration()
        if let json = self.serviceConfigJSON {
            do {
                configuration.serviceConfig = try ServiceConfig(json: json)
            } catch {
                throw ValidationError("--service_config_json: \(error.message)")
            }
        }
        let channel = try GRPCChannel(host: self.serverHost, port: self.serverPort, configuration: configuration)
        var failed = 0
        for testCase in cases {
            do {
                try await testCase.run(
                    channel: channel,
                    host: self.serverHost,
                    port: self.serverPort,
                    soakIterations: self.soakIterations,
                    channelConfiguration: configuration
                )
                print("PASS \(testCase.rawValue)")
            } catch {
                failed += 1
                print("FAIL \(testCase.rawValue): \(error)")
            }
        }
        await channel.close()
        print("\(cases.count - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode.failure }
    }
}
