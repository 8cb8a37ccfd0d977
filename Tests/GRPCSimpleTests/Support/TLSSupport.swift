import Foundation
import GRPCSimple
import InteropTesting
import NIOConcurrencyHelpers

/// Test certificates, made with openssl in temporary directories once per test process
/// (never committed): `trusted` is the set the tests' servers and clients use; `untrusted`
/// has a CA of its own, for servers and clients nobody trusts.
enum TLSFixtures {
    private static let made = NIOLockedValueBox<(trusted: TestCertificates, untrusted: TestCertificates)?>(nil)

    static var trusted: TestCertificates { get throws { try self.sets().trusted } }
    static var untrusted: TestCertificates { get throws { try self.sets().untrusted } }

    private static func sets() throws -> (trusted: TestCertificates, untrusted: TestCertificates) {
        try self.made.withLockedValue { made in
            if let made { return made }
            let base = FileManager.default.temporaryDirectory.appendingPathComponent(
                "grpc-simple-tls-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            ).path
            for name in ["trusted", "untrusted"] {
                try FileManager.default.createDirectory(atPath: base + "/" + name, withIntermediateDirectories: true)
            }
            let sets = (
                trusted: try TestCertificates.create(in: base + "/trusted"),
                untrusted: try TestCertificates.create(in: base + "/untrusted")
            )
            made = sets
            return sets
        }
    }

    /// A server configuration serving TLS with `certificates`' server certificate.
    static func server(
        _ certificates: TestCertificates,
        clientCertificates: ClientCertificatePolicy = .none
    ) -> Server.Configuration {
        var configuration = Server.Configuration()
        configuration.tls = ServerTLSConfiguration(
            certificateChain: .file(path: certificates.serverCertificatePath),
            privateKey: .file(path: certificates.serverKeyPath),
            clientCertificates: clientCertificates,
            clientCertificateTrustRoots: clientCertificates == .none ? nil : .file(path: certificates.caCertificatePath)
        )
        return configuration
    }

    /// A channel configuration trusting `certificates`' CA, presenting `clientCertificate`'s
    /// client certificate if given.
    static func client(
        trusting certificates: TestCertificates,
        serverName: String? = nil,
        clientCertificate: TestCertificates? = nil
    ) -> GRPCChannel.Configuration {
        var configuration = GRPCChannel.Configuration()
        configuration.tls = ClientTLSConfiguration(
            trustRoots: .pem(.file(path: certificates.caCertificatePath)),
            certificateChain: clientCertificate.map { .file(path: $0.clientCertificatePath) },
            privateKey: clientCertificate.map { .file(path: $0.clientKeyPath) },
            serverName: serverName
        )
        return configuration
    }
}
