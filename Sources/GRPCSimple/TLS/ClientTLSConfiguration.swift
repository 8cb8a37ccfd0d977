import NIOCore
import NIOSSL

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
    /// Whether the server's certificate is checked (chain and name). `false` accepts any
    /// certificate, whoever signed it and whatever name it carries: the connection is
    /// encrypted but the server unauthenticated, so use it only against test servers with
    /// throwaway certificates (as `grpc-simple --insecure` and `grpcurl -insecure` do).
    public var verifiesServerCertificate = true

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
        configuration.certificateVerification = self.verifiesServerCertificate ? .noHostnameVerification : .none
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
            configuration.certificateChain = try TLSMaterial.certificateChain(
                chain, what: "the client's certificate chain")
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
