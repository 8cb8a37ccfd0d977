import NIOCore
import NIOSSL

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
            certificateChain: try TLSMaterial.certificateChain(
                self.certificateChain, what: "the server's certificate chain"),
            privateKey: try TLSMaterial.privateKey(self.privateKey, what: "the server's private key")
        )
        // h2 first: gRPC needs it. http/1.1 for browsers and HTTP/1.1 clients of gRPC-Web and
        // Connect that do not offer h2; the first bytes tell the server which one came.
        configuration.applicationProtocols = [TLSMaterial.http2Protocol, TLSMaterial.http1Protocol]
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
            configuration.certificateVerification =
                self.clientCertificates == .require ? .noHostnameVerification : .optionalVerification
            configuration.sendCANameList = true
        }
        return try TLSMaterial.context(configuration)
    }
}
