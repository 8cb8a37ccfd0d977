import GRPCSimple
import InteropTesting
import Testing

/// Every case of grpc/grpc `doc/interop-test-descriptions.md`, our client against our
/// server over a real socket (grpcio pairings: Tests/Interop).
@Suite struct InteropTests {
    @Test(arguments: InteropTestCase.allCases)
    func interopCase(_ testCase: InteropTestCase) async throws {
        let server = Server(services: [InteropTestService()], workers: 1)
        try await server.start(host: "127.0.0.1", port: 0)
        let port = try #require(server.port)
        let channel = try GRPCChannel(host: "127.0.0.1", port: port)
        do {
            try await withTimeout(seconds: 30) {
                try await testCase.run(channel: channel, host: "127.0.0.1", port: port, soakIterations: 5)
            }
        } catch {
            await channel.close()
            await server.shutdown(gracePeriod: .seconds(1))
            throw error
        }
        await channel.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }
}

/// The interop binaries read boolean flags in every form grpc's runners pass.
@Suite struct InteropFlagTests {
    static let flags: Set<String> = ["use_tls", "use_test_ca"]

    @Test(arguments: [
        (["--use_tls"], ["--use_tls=true"]),
        (["--use_tls=true"], ["--use_tls=true"]),
        (["--use_tls", "true"], ["--use_tls=true"]),
        (["--use_tls=false"], ["--use_tls=false"]),
        (["--use_tls", "false"], ["--use_tls=false"]),
        (["-use_tls", "1"], ["--use_tls=true"]),
        (["--use_tls=F"], ["--use_tls=false"]),
        (["--use_tls", "--use_test_ca", "--port", "1"], ["--use_tls=true", "--use_test_ca=true", "--port", "1"]),
        (["--use_tls", "--port=1"], ["--use_tls=true", "--port=1"]),
        (["--use_tls=maybe"], ["--use_tls=maybe"]),
        (["--port", "true"], ["--port", "true"]),
    ])
    func booleanFlagForms(arguments: [String], expected: [String]) {
        #expect(BooleanFlagArguments.normalize(arguments, flags: Self.flags) == expected)
    }
}
