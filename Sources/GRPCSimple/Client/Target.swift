/// Where a channel connects: a host and port, or a Unix domain socket.
enum Target: Sendable, Hashable, CustomStringConvertible {
    case hostAndPort(host: String, port: Int)
    case unixSocket(path: String)

    /// Parses `host:port`, `[v6-address]:port`, `v6-address` with a port after the last
    /// bracket, or `unix:/path` (also `unix:///path`).
    static func parse(_ text: String) -> Target? {
        if text.hasPrefix("unix:") {
            var path = String(text.dropFirst("unix:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            return path.isEmpty ? nil : .unixSocket(path: path)
        }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (0...65535).contains(port), !host.isEmpty
            else {
                return nil
            }
            return .hostAndPort(host: host, port: port)
        }
        guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        return .hostAndPort(host: host, port: port)
    }

    var description: String {
        switch self {
        case .hostAndPort(let host, let port):
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let path):
            "unix:\(path)"
        }
    }

    /// Whether the target is this machine (a Unix socket, `localhost`, 127.0.0.0/8 or
    /// `::1`), where plaintext stays on the host. Names under `.localhost` do not count:
    /// only some resolvers keep them local.
    var isThisMachine: Bool {
        switch self {
        case .unixSocket:
            return true
        case .hostAndPort(let host, _):
            let name = host.lowercased()
            if name == "localhost" || name == "::1" || name == "0:0:0:0:0:0:0:1" {
                return true
            }
            // An IPv4 literal in 127.0.0.0/8 (not a name that merely starts with "127.").
            let octets = name.split(separator: ".", omittingEmptySubsequences: false)
            return octets.count == 4 && octets.allSatisfy { UInt8($0) != nil } && octets[0] == "127"
        }
    }

    /// The `:authority` of requests.
    var authority: String {
        switch self {
        case .hostAndPort: self.description
        case .unixSocket: "localhost"
        }
    }
}
