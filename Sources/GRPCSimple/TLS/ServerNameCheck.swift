import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a server certificate is valid for the name a client expects (RFC 6125, as
/// browsers and grpc-go apply it): a DNS name must match a DNS subject alternative name,
/// exactly (ignoring case and a trailing dot) or by a wildcard that stands for the whole
/// leftmost label (`*.example.com` covers `a.example.com`, not `example.com` or
/// `a.b.example.com`); an IP address must match an IP subject alternative name. The common
/// name is not looked at.
///
/// NIOSSL's own check also accepts a certificate for the IP address the socket connected
/// to even when a different name was asked for, which would make
/// `ClientTLSConfiguration.serverName` meaningless for a certificate carrying that IP; so the
/// client checks the name itself, with this, after NIOSSL has verified the chain.
enum ServerNameCheck {
    static func certificate(_ certificate: NIOSSLCertificate, isValidFor name: String) -> Bool {
        var dnsNames: [String] = []
        var ipAddresses: [[UInt8]] = []
        for alternativeName in certificate._subjectAlternativeNames() {
            switch alternativeName.nameType {
            case .dnsName: dnsNames.append(String(decoding: Array(alternativeName.contents), as: UTF8.self))
            case .ipAddress: ipAddresses.append(Array(alternativeName.contents))
            default: break
            }
        }
        return self.certificate(dnsNames: dnsNames, ipAddresses: ipAddresses, isValidFor: name)
    }

    static func certificate(dnsNames: [String], ipAddresses: [[UInt8]], isValidFor name: String) -> Bool {
        if let address = self.ipAddressBytes(name) {
            return ipAddresses.contains(address)
        }
        let wanted = self.normalized(name)
        guard !wanted.isEmpty else { return false }
        return dnsNames.contains { self.pattern(self.normalized($0), matches: wanted) }
    }

    private static func normalized(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }

    private static func pattern(_ pattern: String, matches name: String) -> Bool {
        guard pattern.hasPrefix("*.") else { return pattern == name }
        let suffix = pattern.dropFirst(1)  // ".example.com"
        // The wildcard's domain needs two labels at least: no `*.com`.
        guard suffix.dropFirst().contains("."), let firstDot = name.firstIndex(of: ".") else { return false }
        let label = name[..<firstDot]
        return !label.isEmpty && name[firstDot...] == suffix
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 literal; nil for anything else.
    static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var text = text
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
