import ArgumentParser
import GRPCSimple
import PersonService

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Calls AsillaService as the seed's `client.py` does: checkMarried, then getInfor.
@main
struct PersonClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person-client",
        abstract: "Calls AsillaService (the seed's person.proto) over gRPC."
    )

    @Option(help: "IP address (or name) of the server.")
    var ip = "localhost"

    @Option(help: "Port the server listens on.")
    var port = 50051

    @Option(help: "The name to ask about.")
    var name = "trung"

    @Option(help: "Compress requests with identity, gzip or deflate.")
    var compression = "identity"

    @Flag(help: "Connect over TLS (trusting the system's roots, or --ca-file).")
    var tls = false

    @Option(help: "Trust the CA certificates in this PEM file (implies --tls).")
    var caFile: String?

    @Option(help: "The name the server's certificate must carry, if not --ip (implies --tls).")
    var serverName: String?

    @Option(help: "Send 'authorization: Bearer <token>' with every call.")
    var authToken: String?

    func run() async throws {
        do {
            var configuration = GRPCChannel.Configuration()
            if self.tls || self.caFile != nil || self.serverName != nil {
                configuration.tls = ClientTLSConfiguration(
                    trustRoots: self.caFile.map { .pem(.file(path: $0)) } ?? .systemDefault,
                    serverName: self.serverName
                )
            }
            if let token = self.authToken {
                configuration.credentials = .bearerToken(token)
            }
            let channel = try GRPCChannel(host: self.ip, port: self.port, configuration: configuration)
            let client = AsillaServiceClient(channel: channel)

            guard let algorithm = CompressionAlgorithm.supported.first(where: { $0.name == self.compression }) else {
                throw ValidationError("--compression must be identity, gzip or deflate")
            }
            let options = CallOptions(compression: algorithm)
            let status = try await client.checkMarried(.with { $0.name = self.name }, options: options)
            print("checkMarried(\(self.name)): married: \(status.married)")

            let person = try await client.getInfor(.with { $0.name = self.name }, options: options)
            print("getInfor(\(self.name)): name: \(person.name), id: \(person.id), married: \(person.married)")
            await channel.close()
        } catch {
            var standardError = StandardError()
            print("error: \(error)", to: &standardError)
            throw ExitCode.failure
        }
    }
}

/// Standard error as a `TextOutputStream`, unbuffered.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        _ = bytes.withUnsafeBytes { writeToStandardError($0.baseAddress, $0.count) }
    }
}

private func writeToStandardError(_ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(2, bytes, count)
    #else
    Darwin.write(2, bytes, count)
    #endif
}
