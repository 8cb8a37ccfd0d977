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
