import ArgumentParser
import Foundation
import GRPCSimple

/// How to reach the server: TLS or not, whose certificates, which metadata, how long to wait.
/// Shared by every subcommand.
struct ConnectionOptions: ParsableArguments {
    @Flag(help: "Connect without TLS (plaintext HTTP/2).")
    var plaintext = false

    @Flag(help: "Use TLS without checking the server's certificate (test servers only).")
    var insecure = false

    @Option(
        name: .customLong("cacert"),
        help: ArgumentHelp("Trust the CA certificates in this PEM file instead of the system's.", valueName: "file"))
    var caCertificate: String?

    @Option(
        name: .customLong("cert"),
        help: ArgumentHelp("The client's PEM certificate, for mutual TLS (with --key).", valueName: "file"))
    var certificate: String?

    @Option(name: .customLong("key"), help: ArgumentHelp("The private key of --cert, in PEM.", valueName: "file"))
    var key: String?

    @Option(
        name: .customLong("servername"),
        help: ArgumentHelp(
            "The name the server's certificate must carry (and SNI), if not the address's host.", valueName: "name"))
    var serverName: String?

    @Option(name: .customLong("authority"), help: ArgumentHelp("The :authority of requests.", valueName: "authority"))
    var authority: String?

    @Option(
        name: [.customShort("H"), .customLong("header")],
        help: ArgumentHelp(
            "Request metadata, 'name: value' (repeatable); values of -bin names in base64.", valueName: "header"))
    var headers: [String] = []

    @Option(
        name: .customLong("max-time"),
        help: ArgumentHelp("Seconds the whole command may take (the calls' deadline).", valueName: "seconds"))
    var maxTime: Double?

    @Option(
        name: .customLong("connect-timeout"),
        help: ArgumentHelp("Seconds to wait for the connection.", valueName: "seconds"))
    var connectTimeout: Double?

    @Option(
        name: .customLong("compression"),
        help: ArgumentHelp("Compress requests: gzip, deflate or identity.", valueName: "algorithm"))
    var compression: String?

    /// A channel to `address` as the options say.
    func channel(to address: String) throws -> GRPCChannel {
        var configuration = GRPCChannel.Configuration()
        configuration.authority = self.authority
        if let connectTimeout = self.connectTimeout {
            configuration.backoff.minimumConnectTimeout = try Self.duration(connectTimeout, "--connect-timeout")
        }
        if self.plaintext {
            let tlsOnly = [
                ("--insecure", self.insecure), ("--cacert", self.caCertificate != nil),
                ("--cert", self.certificate != nil), ("--key", self.key != nil),
                ("--servername", self.serverName != nil),
            ].filter(\.1).map(\.0)
            if let first = tlsOnly.first {
                throw RPCError(.invalidArgument, "\(first) is a TLS option; it cannot go with --plaintext")
            }
        } else {
            if (self.certificate == nil) != (self.key == nil) {
                throw RPCError(.invalidArgument, "--cert and --key go together (a client certificate and its key)")
            }
            var tls = ClientTLSConfiguration(
                trustRoots: self.caCertificate.map { .pem(.file(path: $0)) } ?? .systemDefault,
                certificateChain: self.certificate.map { .file(path: $0) },
                privateKey: self.key.map { .file(path: $0) },
                serverName: self.serverName
            )
            tls.verifiesServerCertificate = !self.insecure
            configuration.tls = tls
        }
        return try GRPCChannel(target: address, configuration: configuration)
    }

    /// The options of every call: metadata, compression, and the deadline `--max-time` sets
    /// for the whole command (counted from `start`).
    func callOptions(start: ContinuousClock.Instant) throws -> CallOptions {
        var options = CallOptions(metadata: try self.metadata())
        if let maxTime = self.maxTime {
            options.deadline = start.advanced(by: try Self.duration(maxTime, "--max-time"))
        }
        if let compression = self.compression {
            guard let algorithm = CompressionAlgorithm.supported.first(where: { $0.name == compression }) else {
                let names = CompressionAlgorithm.supported.map(\.name).joined(separator: ", ")
                throw RPCError(.invalidArgument, "--compression must be one of \(names), not '\(compression)'")
            }
            options.compression = algorithm
        }
        return options
    }

    /// `-H 'name: value'` as metadata; `-bin` values are base64.
    func metadata() throws -> Metadata {
        var metadata = Metadata()
        for header in self.headers {
            guard let colon = header.firstIndex(of: ":") else {
                throw RPCError(.invalidArgument, "-H '\(header)' is not 'name: value'")
            }
            let name = header[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw RPCError(.invalidArgument, "-H '\(header)' has no name") }
            if name.hasSuffix("-bin") {
                guard let bytes = Data(base64Encoded: Self.padded(value)) else {
                    throw RPCError(.invalidArgument, "-H '\(header)': the value of a -bin header must be base64")
                }
                metadata.add(name, binary: Array(bytes))
            } else {
                metadata.add(name, value)
            }
        }
        return metadata
    }

    private static func padded(_ base64: String) -> String {
        base64 + String(repeating: "=", count: (4 - base64.count % 4) % 4)
    }

    private static func duration(_ seconds: Double, _ option: String) throws -> Duration {
        guard seconds.isFinite, seconds > 0 else {
            throw RPCError(.invalidArgument, "\(option) must be a positive number of seconds, not \(seconds)")
        }
        return .nanoseconds(Int64(min(seconds, 1e9) * 1e9))
    }
}
