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

    @Option(name: .customLong("server_host"), help: "Server host.")
    var serverHost = "127.0.0.1"

    @Option(name: .customLong("server_port"), help: "Server port.")
    var serverPort = 10000

    @Option(name: .customLong("test_case"), help: "A case name, or `all`.")
    var testCase = "large_unary"

    @Option(name: .customLong("soak_iterations"), help: "Iterations of rpc_soak and channel_soak.")
    var soakIterations = 10

    @Option(name: .customLong("use_tls"), help: "Use TLS (not supported yet).")
    var useTLS = "false"

    @Option(name: .customLong("use_test_ca"), help: "Trust the test CA (with --use_tls).")
    var useTestCA = "false"

    @Option(name: .customLong("server_host_override"), help: "TLS server name (with --use_tls).")
    var serverHostOverride: String?

    func run() async throws {
        guard self.useTLS == "false" else {
            throw ValidationError("--use_tls is not supported yet: gRPC Simple has no TLS (a later issue)")
        }
        let cases: [InteropTestCase]
        if self.testCase == "all" {
            cases = InteropTestCase.allCases
        } else if let named = InteropTestCase(rawValue: self.testCase) {
            cases = [named]
        } else {
            throw ValidationError("unknown --test_case '\(self.testCase)'; one of: all, \(InteropTestCase.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let channel = try Channel(host: self.serverHost, port: self.serverPort)
        var failed = 0
        for testCase in cases {
            do {
                try await testCase.run(channel: channel, host: self.serverHost, port: self.serverPort, soakIterations: self.soakIterations)
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
