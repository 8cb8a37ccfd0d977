import NIOCore

/// The address of one server: what a subchannel connects to.
public enum ServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 or IPv6 address and port, or a Unix domain socket's path.
    case socket(SocketAddress)
    /// A Unix domain socket in Linux's abstract namespace (no file), by its name.
    case unixAbstract(String)

    /// An IPv4 or IPv6 address (a literal, not a name) and a port.
    public static func ip(_ address: String, port: Int) throws -> ServerAddress {
        do {
            return .socket(try SocketAddress(ipAddress: address, port: port))
        } catch {
            throw RPCError(.invalidArgument, "'\(address)' is not an IPv4 or IPv6 address")
        }
    }

    /// A Unix domain socket's path.
    public static func unix(path: String) throws -> ServerAddress {
        do {
            return .socket(try SocketAddress(unixDomainSocketPath: path))
        } catch {
            throw RPCError(.invalidArgument, "'\(path)' cannot be a Unix domain socket path (at most 103 bytes)")
        }
    }

    /// `ipv4:127.0.0.1:50051`, `ipv6:[::1]:50051`, `unix:/path`, `unix-abstract:name`.
    public var description: String {
        switch self {
        case .socket(let address): NetworkDescription.address(address)
        case .unixAbstract(let name): "unix-abstract:\(name)"
        }
    }
}
