import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Addresses and network errors as people read them, in log lines and error messages of
/// both sides.
enum NetworkDescription {
    /// `ipv4:127.0.0.1:50051`, `ipv6:[::1]:50051` or `unix:/path`: gRPC's peer format.
    static func address(_ address: SocketAddress) -> String {
        switch address {
        case .v4(let v4): "ipv4:\(address.ipAddress ?? v4.host):\(address.port ?? 0)"
        case .v6(let v6): "ipv6:[\(address.ipAddress ?? v6.host)]:\(address.port ?? 0)"
        case .unixDomainSocket: "unix:\(address.pathname ?? "")"
        }
    }

    /// A connection or listening error: the OS error by name and number, a DNS failure,
    /// a timeout.
    static func error(_ error: any Error) -> String {
        if let connectionError = error as? NIOConnectionError {
            if let first = connectionError.connectionErrors.first {
                return self.error(first.error)
            }
            if let dnsError = connectionError.dnsAError ?? connectionError.dnsAAAAError {
                return "could not resolve the host name (\(dnsError))"
            }
            return "no address to connect to"
        }
        if let ioError = error as? IOError {
            return "\(String(cString: strerror(ioError.errnoCode))) (errno \(ioError.errnoCode))"
        }
        if error is ChannelError, case .connectTimeout(let timeout) = error as! ChannelError {
            return "timed out after \(timeout)"
        }
        return "\(error)"
    }
}
