import NIOSSL

/// The certificate a client presented and the server verified (mutual TLS), as a handler
/// sees it in `ServerContext.peerCertificate`.
///
/// Only verified certificates get here: with `ClientCertificatePolicy.optional` or
/// `.require`, a certificate that does not chain to the server's trust roots fails the
/// handshake. Authorize on `commonName`, `dnsNames` or `uris` (SPIFFE IDs, say).
public struct PeerCertificate: Sendable, Hashable, CustomStringConvertible {
    /// The subject's attributes as `TYPE=value`, in the order the certificate lists them,
    /// joined by `, ` (e.g. `O=Example, CN=billing-service`).
    public var subject: String
    /// The subject's common name (CN), if it has one.
    public var commonName: String?
    /// DNS names among the subject alternative names.
    public var dnsNames: [String]
    /// IP addresses among the subject alternative names, as text (`127.0.0.1`; IPv6 as
    /// eight hex groups, `0:0:0:0:0:0:0:1`).
    public var ipAddresses: [String]
    /// URIs among the subject alternative names (e.g. `spiffe://example.org/billing`).
    public var uris: [String]
    /// Email addresses among the subject alternative names.
    public var emailAddresses: [String]
    /// The whole certificate, DER-encoded, for checks this type does not cover.
    public var derBytes: [UInt8]

    /// A certificate's identity, field by field (the server builds it from the verified
    /// client certificate; tests and mocks may build one directly).
    public init(
        subject: String,
        commonName: String?,
        dnsNames: [String] = [],
        ipAddresses: [String] = [],
        uris: [String] = [],
        emailAddresses: [String] = [],
        derBytes: [UInt8] = []
    ) {
        self.subject = subject
        self.commonName = commonName
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.uris = uris
        self.emailAddresses = emailAddresses
        self.derBytes = derBytes
    }

    /// The subject, then the subject alternative names, for logs.
    public var description: String {
        var parts = ["subject: \(self.subject)"]
        if !self.dnsNames.isEmpty { parts.append("DNS: \(self.dnsNames.joined(separator: ", "))") }
        if !self.ipAddresses.isEmpty { parts.append("IP: \(self.ipAddresses.joined(separator: ", "))") }
        if !self.uris.isEmpty { parts.append("URI: \(self.uris.joined(separator: ", "))") }
        if !self.emailAddresses.isEmpty { parts.append("email: \(self.emailAddresses.joined(separator: ", "))") }
        return parts.joined(separator: "; ")
    }
}

extension PeerCertificate {
    /// Reads the identity out of NIOSSL's certificate (once per connection).
    init(_ certificate: NIOSSLCertificate) {
        let names = certificate.subjectName
        var dnsNames: [String] = []
        var ipAddresses: [String] = []
        var uris: [String] = []
        var emails: [String] = []
        for name in certificate._subjectAlternativeNames() {
            let bytes = Array(name.contents)
            switch name.nameType {
            case .dnsName: dnsNames.append(String(decoding: bytes, as: UTF8.self))
            case .uri: uris.append(String(decoding: bytes, as: UTF8.self))
            case .email: emails.append(String(decoding: bytes, as: UTF8.self))
            case .ipAddress: ipAddresses.append(Self.formatIPAddress(bytes))
            default: break
            }
        }
        self.init(
            subject: names.map { "\(Self.shortName($0.type))=\($0.value)" }.joined(separator: ", "),
            commonName: names.last { $0.type == .commonName }?.value,
            dnsNames: dnsNames,
            ipAddresses: ipAddresses,
            uris: uris,
            emailAddresses: emails,
            derBytes: (try? certificate.toDERBytes()) ?? []
        )
    }

    private static func shortName(_ type: SSLCertificateNameType) -> String {
        switch type {
        case .commonName: return "CN"
        case .organization: return "O"
        case .organizationalUnit: return "OU"
        case .country: return "C"
        case .state: return "ST"
        case .city: return "L"
        case .emailAddress: return "emailAddress"
        case .userId: return "UID"
        default: return "OID"
        }
    }

    static func formatIPAddress(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 {
            return bytes.map(String.init).joined(separator: ".")
        }
        if bytes.count == 16 {
            // Eight groups of hex, without zero compression (unambiguous and simple).
            return stride(from: 0, to: 16, by: 2)
                .map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return bytes.map { String($0, radix: 16) }.joined(separator: ":")
    }
}
