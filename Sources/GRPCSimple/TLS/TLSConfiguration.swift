import NIOCore
import NIOSSL

/// PEM-encoded certificates or a private key: read from a file, or given as text.
public enum PEMSource: Sendable, Hashable {
    /// A PEM file on disk, read when the server starts or the channel is created.
    case file(path: String)
    /// PEM text held in memory (`-----BEGIN CERTIFICATE-----...`).
    case pem(String)
}

/// Whether a TLS server asks its clients for certificates (mutual TLS).
public enum ClientCertificatePolicy: Sendable, Hashable {
    /// Clients are not asked for a certificate.
    case none
    /// Clients may present a certificate; one that is presented must chain to the
    /// server's `clientCertificateTrustRoots`, or the handshake fails.
    case optional
    /// Every client must present a certificate that chains to the server's
    /// `clientCertificateTrustRoots`; the handshake fails without one.
    case require
}

/// TLS for a `Server`: its certificate chain and private key, and for mutual TLS the
/// roots that client certificates must chain to. ALPN offers `h2` only.
///
/// ```swift
/// var configuration = Server.Configuration()
/// configuration.tls = ServerTLSConfiguration(
///     certificateChain: .file(path: "server.pem"),
///     privateKey: .file(path: "server.key")
/// )
/// ```
public struct ServerTLSConfiguration: Sendable {
    /// The server's certificate first, then any intermediates.
    public var certificateChain: PEMSource
    /// The private key of the server's certificate.
    public var privateKey: PEMSource
    /// Whether clients are asked for certificates. Default `.none`.
    public var clientCertificates: ClientCertificatePolicy
    /// The CA certificates a client certificate must chain to; required unless
    /// `clientCertificates` is `.none`.
    public var clientCertificateTrustRoots: PEMSource?

    /// The server's certificate and key; with `clientCertificates` other than `.none`,
    /// also the roots client certificates must chain to.
    public init(
        certificateChain: PEMSource,
        privateKey: PEMSource,
        clientCertificates: ClientCertificatePolicy = .none,
        clientCertificateTrustRoots: PEMSource? = nil
    ) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.clientCertificates = clientCertificates
        self.clientCertificateTrustRoots = clientCertificateTrustRoots
    }

    /// Loads the PEM material and builds the context every connection shares.
    /// Throws INVALID_ARGUMENT naming what could not be read.
    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try TLSMaterial.certificateChain(self.certificateChain, what: "the server's certificate chain"),
            privateKey: try TLSMaterial.privateKey(self.privateKey, what: "the server's private key")
        )
        configuration.applicationProtocols = [TLSMaterial.http2Protocol]
        switch self.clientCertificates {
        case .none:
            configuration.certificateVerification = .none
        case .optional, .require:
            guard let roots = self.clientCertificateTrustRoots else {
                throw RPCError(
                    .invalidArgument,
                    "TLS: clientCertificates is .\(self.clientCertificates) but no clientCertificateTrustRoots were given to verify them against"
                )
            }
            configuration.trustRoots = try TLSMaterial.trustRoots(roots, what: "the client certificate trust roots")
            configuration.certificateVerification = self.clientCertificates == .require ? .noHostnameVerification : .optionalVerification
            configuration.sendCANameList = true
        }
        return try TLSMaterial.context(configuration)
    }
}

/// TLS for a `GRPCChannel`: which certificate authorities to trust, the name to verify the
/// server's certificate against, and for mutual TLS the client's own certificate.
/// ALPN offers `h2` only, and a server that does not choose it is refused.
///
/// ```swift
/// var configuration = GRPCChannel.Configuration()
/// configuration.tls = ClientTLSConfiguration(trustRoots: .pem(.file(path: "ca.pem")))
/// let channel = try GRPCChannel(host: "api.example.com", port: 443, configuration: configuration)
/// ```
public struct ClientTLSConfiguration: Sendable {
    /// The certificate authorities a server certificate must chain to.
    public enum TrustRoots: Sendable, Hashable {
        /// The system's trust store.
        case systemDefault
        /// These CA certificates only.
        case pem(PEMSource)
    }

    /// Default `.systemDefault`.
    public var trustRoots: TrustRoots
    /// The client's certificate chain, for servers that ask for one (mutual TLS).
    public var certificateChain: PEMSource?
    /// The private key of `certificateChain`.
    public var privateKey: PEMSource?
    /// The name sent in SNI and that the server's certificate must carry in its subject
    /// alternative names (DNS, `*.` wildcards for one label; an IP address must be an IP
    /// SAN, and sends no SNI). Default: the host the channel connects to (`localhost` for a
    /// Unix socket). When set, it is also the requests' `:authority`, as with grpc's
    /// `ssl_target_name_override`.
    public var serverName: String?

    /// What the client trusts, and its own certificate for mutual TLS.
    public init(
        trustRoots: TrustRoots = .systemDefault,
        certificateChain: PEMSource? = nil,
        privateKey: PEMSource? = nil,
        serverName: String? = nil
    ) {
        self.trustRoots = trustRoots
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.serverName = serverName
    }

    /// Loads the PEM material and builds the context every connection of the channel
    /// shares. Throws INVALID_ARGUMENT naming what could not be read.
    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = [TLSMaterial.http2Protocol]
        // The chain is verified here; the name by ServerNameCheck once the handshake is done.
        configuration.certificateVerification = .noHostnameVerification
        switch self.trustRoots {
        case .systemDefault:
            configuration.trustRoots = .default
        case .pem(let source):
            configuration.trustRoots = try TLSMaterial.trustRoots(source, what: "the trust roots")
        }
        switch (self.certificateChain, self.privateKey) {
        case (nil, nil):
            break
        case (let chain?, let key?):
            configuration.certificateChain = try TLSMaterial.certificateChain(chain, what: "the client's certificate chain")
            configuration.privateKey = try TLSMaterial.privateKey(key, what: "the client's private key")
        case (.some, nil), (nil, .some):
            throw RPCError(.invalidArgument, "TLS: a client certificate needs both certificateChain and privateKey")
        }
        return try TLSMaterial.context(configuration)
    }

    /// The name for SNI when connecting to `host`: the override, else the host; nil for
    /// an IP address (SNI carries names only; NIOSSL then checks the IP SANs).
    func sniName(connectingTo host: String) -> String? {
        let name = self.serverName ?? host
        if (try? SocketAddress(ipAddress: name, port: 0)) != nil { return nil }
        return name
    }
}

/// Loading PEM material into NIOSSL's types, with errors that name what failed.
enum TLSMaterial {
    /// The one ALPN protocol gRPC speaks.
    static let http2Protocol = "h2"

    static func certificates(_ source: PEMSource, what: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            switch source {
            case .file(let path):
                certificates = try NIOSSLCertificate.fromPEMFile(path)
            case .pem(let text):
                certificates = try NIOSSLCertificate.fromPEMBytes(Array(text.utf8))
            }
        } catch {
            throw RPCError(.invalidArgument, "TLS: cannot read \(what) from \(source.label): \(error)")
        }
        guard !certificates.isEmpty else {
            throw RPCError(.invalidArgument, "TLS: \(what) (\(source.label)) holds no PEM certificate")
        }
        return certificates
    }

    static func certificateChain(_ source: PEMSource, what: String) throws -> [NIOSSLCertificateSource] {
        try self.certificates(source, what: what).map { .certificate($0) }
    }

    static func trustRoots(_ source: PEMSource, what: String) throws -> NIOSSLTrustRoots {
        .certificates(try self.certificates(source, what: what))
    }

    static func privateKey(_ source: PEMSource, what: String) throws -> NIOSSLPrivateKeySource {
        do {
            switch source {
            case .file(let path):
                return .privateKey(try NIOSSLPrivateKey(file: path, format: .pem))
            case .pem(let text):
                return .privateKey(try NIOSSLPrivateKey(bytes: Array(text.utf8), format: .pem))
            }
        } catch {
            throw RPCError(.invalidArgument, "TLS: cannot read \(what) from \(source.label): \(error)")
        }
    }

    static func context(_ configuration: TLSConfiguration) throws -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw RPCError(.invalidArgument, "TLS: invalid configuration (does the private key match the certificate?): \(error)")
        }
    }
}

extension PEMSource {
    /// For error messages: the path, or "in-memory PEM".
    var label: String {
        switch self {
        case .file(let path): return path
        case .pem: return "in-memory PEM"
        }
    }
}
