/// The resolver of targets that name their addresses: `ipv4:`, `ipv6:`, `unix:` and
/// `unix-abstract:`. It reports them once.
struct FixedAddressResolver: NameResolver {
    let addresses: [ServerAddress]

    func start(_ listener: NameResolverListener) {
        listener.resolved(NameResolution(addresses: self.addresses))
    }

    func resolveNow() {}

    func shutdown() {}

    /// The default port of `ipv4` and `ipv6` targets, as grpc/grpc `doc/naming.md` says.
    static let defaultPort = 443

    /// The addresses a fixed-address target names; throws INVALID_ARGUMENT naming the
    /// part that is not an address.
    static func addresses(of target: ChannelTarget) throws -> [ServerAddress] {
        switch target.scheme {
        case "unix":
            guard !target.endpoint.isEmpty else {
                throw RPCError(.invalidArgument, "the target '\(target)' has no socket path")
            }
            return [try .unix(path: target.endpoint)]
        case "unix-abstract":
            guard !target.endpoint.isEmpty, target.endpoint.utf8.count <= 106 else {
                throw RPCError(
                    .invalidArgument, "the target '\(target)' needs an abstract socket name of 1 to 106 bytes")
            }
            return [.unixAbstract(target.endpoint)]
        case "ipv4", "ipv6":
            let parts = target.endpoint.split(separator: ",", omittingEmptySubsequences: false)
            guard !parts.isEmpty, !target.endpoint.isEmpty else {
                throw RPCError(.invalidArgument, "the target '\(target)' lists no address")
            }
            return try parts.map { part in
                guard let (host, port) = ChannelTarget.splitHostPort(part, defaultPort: Self.defaultPort) else {
                    throw RPCError(.invalidArgument, "'\(part)' in the target '\(target)' is not an address[:port]")
                }
                let address = try ServerAddress.ip(host, port: port)
                guard case .socket(let socket) = address, socket.protocol == (target.scheme == "ipv4" ? .inet : .inet6)
                else {
                    throw RPCError(
                        .invalidArgument, "'\(host)' in the target '\(target)' is not an \(target.scheme) address")
                }
                return address
            }
        default:
            throw RPCError(.invalidArgument, "the target '\(target)' does not name its addresses")
        }
    }
}

/// Makes `FixedAddressResolver`s for one of the fixed-address schemes.
struct FixedAddressResolverFactory: NameResolverFactory {
    let scheme: String

    func makeResolver(for target: ChannelTarget) throws -> any NameResolver {
        FixedAddressResolver(addresses: try FixedAddressResolver.addresses(of: target))
    }
}
