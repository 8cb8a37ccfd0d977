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
