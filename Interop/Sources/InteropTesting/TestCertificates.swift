import Foundation

/// Certificates for tests, made at run time with the `openssl` command (never committed):
/// a CA, a server certificate it signed (SANs `localhost`, `127.0.0.1` and
/// `*.test.google.fr`, the interop suite's name) and a client certificate it signed
/// (CN `gRPC Simple test client`, SANs `DNS:client.test` and
/// `URI:spiffe://grpc-simple.test/client`). Keys are ECDSA P-256, files PEM.
public struct TestCertificates: Sendable {
    /// Where the files are.
    public let directory: String

    /// The test CA's certificate.
    public var caCertificatePath: String { self.directory + "/ca.pem" }
    /// The server's certificate, for localhost, 127.0.0.1 and *.test.google.fr.
    public var serverCertificatePath: String { self.directory + "/server.pem" }
    /// The server's private key.
    public var serverKeyPath: String { self.directory + "/server.key" }
    /// A client certificate the test CA signed (mutual TLS).
    public var clientCertificatePath: String { self.directory + "/client.pem" }
    /// The client certificate's private key.
    public var clientKeyPath: String { self.directory + "/client.key" }

    /// A name the server certificate is valid for, besides localhost and 127.0.0.1
    /// (grpc's interop clients use it with `--server_host_override`).
    public static let interopServerName = "foo.test.google.fr"
    /// The client certificate's common name.
    public static let clientCommonName = "gRPC Simple test client"

    private static let files = ["ca.pem", "server.pem", "server.key", "client.pem", "client.key"]

    /// What went wrong making certificates: the command and what openssl said.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong making the certificates.
        public var description: String
    }

    /// Makes a new set (a new CA) in `directory`, which must exist.
    public static func create(in directory: String) throws -> TestCertificates {
        let certificates = TestCertificates(directory: directory)
        try certificates.generate()
        return certificates
    }

    /// One set per user, in `$TMPDIR/grpc-simple-test-certs-UID` (made on first use, then
    /// reused), so that a server and a client started separately trust the same CA. It is
    /// made in a directory of its own and renamed into place, so two processes starting at
    /// once agree on one set.
    public static func shared() throws -> TestCertificates {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let path = "\(base)/grpc-simple-test-certs-\(getuid())"
        let existing = TestCertificates(directory: path)
        if existing.isComplete { return existing }
        let fileManager = FileManager.default
        let staging = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        do {
            try TestCertificates(directory: staging).generate()
        } catch {
            try? fileManager.removeItem(atPath: staging)
            throw error
        }
        if rename(staging, path) != 0 {
            // Another process got there first (or a stale incomplete set is in the way).
            try? fileManager.removeItem(atPath: staging)
            if !existing.isComplete {
                throw Failure(
                    description: "cannot create \(path): \(String(cString: strerror(errno))); remove it and retry")
            }
        }
        return existing
    }

    private var isComplete: Bool {
        Self.files.allSatisfy { FileManager.default.fileExists(atPath: self.directory + "/" + $0) }
    }

    private func generate() throws {
        let config = self.directory + "/openssl.cnf"
        try Self.opensslConfig.write(toFile: config, atomically: true, encoding: .utf8)
        let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(
            ["req", "-x509"] + ecKey + [
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
                "-config", config, "-section", "ca", "-extensions", "ca_extensions",
            ], in: self.directory)
        for (name, section) in [("server", "server"), ("client", "client")] {
            try Self.openssl(
                ["req", "-new"] + ecKey + [
                    "-keyout", "\(name).key", "-out", "\(name).csr", "-config", config, "-section", section,
                ], in: self.directory)
            try Self.openssl(
                [
                    "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                    "-set_serial", "0x" + String(UInt64.random(in: 1...UInt64.max), radix: 16),
                    "-days", "3650", "-out", "\(name).pem",
                    "-extfile", config, "-extensions", "\(section)_extensions",
                ], in: self.directory)
        }
    }

    private static let opensslConfig = """
        [ca]
        prompt = no
        distinguished_name = ca_name
        [ca_name]
        O = gRPC Simple tests
        CN = gRPC Simple test CA
        [ca_extensions]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash

        [server]
        prompt = no
        distinguished_name = server_name
        [server_name]
        O = gRPC Simple tests
        CN = localhost
        [server_extensions]
        basicConstraints = CA:FALSE
        keyUsage = critical, digitalSignature, keyEncipherment
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:*.test.google.fr
        authorityKeyIdentifier = keyid

        [client]
        prompt = no
        distinguished_name = client_name
        [client_name]
        O = gRPC Simple tests
        CN = \(clientCommonName)
        [client_extensions]
        basicConstraints = CA:FALSE
        keyUsage = critical, digitalSignature, keyEncipherment
        extendedKeyUsage = clientAuth
        subjectAltName = DNS:client.test, URI:spiffe://grpc-simple.test/client
        authorityKeyIdentifier = keyid

        """

    private static func openssl(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run openssl (is it installed?): \(error)")
        }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description:
                    "openssl \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(String(decoding: output, as: UTF8.self))"
            )
        }
    }
}
