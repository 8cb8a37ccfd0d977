/// Where a channel connects, as grpc/grpc `doc/naming.md` writes it: a scheme naming the
/// resolver, an optional authority, and an endpoint the resolver understands.
///
/// - `dns:[//authority/]host[:port]`: every A and AAAA record of `host` (port 443 when not
///   given), from the system's resolver, or from the DNS server the authority names (an IP
///   address, port 53 when not given); a bare `host:port` means the same as `dns:///`.
/// - `ipv4:address[:port][,address[:port],...]`, `ipv6:[address][:port],...` (an IPv6 address
///   with a port in brackets): fixed addresses.
/// - `unix:path`, `unix:///absolute/path`, `unix-abstract:name`: Unix domain sockets.
/// - `scheme:...` for a scheme with a resolver of your own
///   (`GRPCChannel.Configuration.nameResolvers`).
public struct ChannelTarget: Sendable, Hashable, CustomStringConvertible {
    /// The resolver's scheme: `dns`, `ipv4`, `ipv6`, `unix`, `unix-abstract`, or your own.
    public var scheme: String
    /// The part after `//` and before the next `/`, if the target has one (for `dns`, the
    /// DNS server to ask).
    public var authority: String?
    /// What the resolver resolves, e.g. `example.com:443` for `dns:///example.com:443`.
    public var endpoint: String

    /// A target from its parts.
    public init(scheme: String, authority: String? = nil, endpoint: String) {
        self.scheme = scheme
        self.authority = authority
        self.endpoint = endpoint
    }

    /// Parses a target string. A string without a scheme that has a resolver (`knownSchemes`)
    /// is a `dns` target: `localhost:50051`, `10.0.0.7:50051`, `[::1]:50051`.
    public init(parsing text: String, knownSchemes: Set<String> = ChannelTarget.builtInSchemes) {
        if let colon = text.firstIndex(of: ":"), Self.isScheme(text[..<colon]),
            knownSchemes.contains(text[..<colon].lowercased())
        {
            let scheme = text[..<colon].lowercased()
            var rest = text[text.index(after: colon)...]
            var authority: String?
            if rest.hasPrefix("//") {
                rest = rest.dropFirst(2)
                let slash = rest.firstIndex(of: "/") ?? rest.endIndex
                authority = String(rest[..<slash])
                rest = slash < rest.endIndex ? rest[rest.index(after: slash)...] : rest[slash...]
                // unix:///path: the path is absolute.
                if scheme == "unix" { rest = "/" + rest }
            }
            self.init(scheme: scheme, authority: authority.flatMap { $0.isEmpty ? nil : $0 }, endpoint: String(rest))
        } else {
            self.init(scheme: "dns", endpoint: text)
        }
    }

    /// The schemes gRPC Simple resolves itself.
    public static let builtInSchemes: Set<String> = ["dns", "ipv4", "ipv6", "unix", "unix-abstract"]

    /// The target as it would be written.
    public var description: String {
        if let authority = self.authority {
            return "\(self.scheme)://\(authority)/\(self.endpoint)"
        }
        return "\(self.scheme):\(self.endpoint)"
    }

    /// RFC 3986: a letter, then letters, digits, `+`, `-`, `.`.
    private static func isScheme(_ text: Substring) -> Bool {
        guard let first = text.unicodeScalars.first, ("a"..."z").contains(first) || ("A"..."Z").contains(first)
        else { return false }
        return text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || "+-.".unicodeScalars.contains($0)
        }
    }
}

extension ChannelTarget {
    /// A host and port written `host:port`, `[v6]:port`, `host` or `v6` (the port then
    /// `defaultPort`); nil when it cannot be one.
    static func splitHostPort(_ text: Substring, defaultPort: Int) -> (host: String, port: Int)? {
        guard !text.isEmpty else { return nil }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard !host.isEmpty else { return nil }
            if rest.isEmpty { return (String(host), defaultPort) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (0...65535).contains(port) else { return nil }
            return (String(host), port)
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 0 { return (String(text), defaultPort) }
        // More than one colon without brackets: a bare IPv6 address, no port.
        if colons > 1 { return (String(text), defaultPort) }
        let colon = text.firstIndex(of: ":")!
        let host = text[..<colon]
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        return (String(host), port)
    }

    /// The host named by a `dns` target (for TLS's server name and `:authority`), if any.
    var hostName: String? {
        guard self.scheme == "dns" else { return nil }
        return Self.splitHostPort(Substring(self.endpoint), defaultPort: 443)?.host
    }

    /// The host TLS checks the server's certificate against: the host of a `dns` target,
    /// the first address of an `ipv4` / `ipv6` one, `localhost` for Unix sockets.
    var tlsHost: String {
        switch self.scheme {
        case "dns":
            return self.hostName ?? self.endpoint
        case "ipv4", "ipv6":
            let first = self.endpoint.split(separator: ",").first ?? ""
            return ChannelTarget.splitHostPort(first, defaultPort: 443)?.host ?? String(first)
        default:
            return "localhost"
        }
    }

    /// The `:authority` of requests: the endpoint as written for `dns`, the first address
    /// for `ipv4` / `ipv6`, `localhost` for Unix sockets.
    var requestAuthority: String {
        switch self.scheme {
        case "unix", "unix-abstract":
            return "localhost"
        case "ipv4", "ipv6":
            return String(self.endpoint.split(separator: ",").first ?? "")
        default:
            return self.endpoint
        }
    }

    /// Whether every address the target can name is this machine (a Unix socket,
    /// `localhost`, 127.0.0.0/8, `::1`), where plaintext stays on the host. Names under
    /// `.localhost` do not count: only some resolvers keep them local. A scheme of your own
    /// never counts.
    var isThisMachine: Bool {
        switch self.scheme {
        case "unix", "unix-abstract":
            return true
        case "dns":
            guard let host = self.hostName else { return false }
            return host.lowercased() == "localhost" || Self.isLoopbackLiteral(host)
        case "ipv4", "ipv6":
            let hosts = self.endpoint.split(separator: ",").map {
                Self.splitHostPort($0, defaultPort: 443)?.host ?? ""
            }
            return !hosts.isEmpty && hosts.allSatisfy(Self.isLoopbackLiteral)
        default:
            return false
        }
    }

    /// `::1`, or an IPv4 literal in 127.0.0.0/8 (not a name that merely starts with "127.").
    static func isLoopbackLiteral(_ host: String) -> Bool {
        let name = host.lowercased()
        if name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { UInt8($0) != nil } && octets[0] == "127"
    }
}
