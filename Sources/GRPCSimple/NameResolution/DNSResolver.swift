import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The resolver of `dns:` targets (and of bare `host:port`): every A and AAAA record of the
/// host, through the system's resolver (`getaddrinfo`, on NIO's thread pool), or, when the
/// target names a DNS server (`dns://10.0.0.53/host`), from that server over UDP.
///
/// It looks up when started and whenever the channel asks (`resolveNow`), but never twice
/// within `minimumInterval`: an ask that comes sooner is answered once the interval has
/// passed. Lookups never overlap.
final class DNSResolver: NameResolver {
    private struct State {
        var listener: NameResolverListener?
        var lastLookup: NIODeadline?
        var isLookingUp = false
        var isLookupScheduled = false
        var isShutDown = false
    }

    let host: String
    let port: Int
    /// The DNS server to ask; nil for the system's resolver.
    let server: SocketAddress?
    let minimumInterval: TimeAmount
    private let eventLoop: any EventLoop
    private let state = NIOLockedValueBox(State())

    init(host: String, port: Int, server: SocketAddress? = nil, minimumInterval: TimeAmount, eventLoop: any EventLoop) {
        self.host = host
        self.port = port
        self.server = server
        self.minimumInterval = minimumInterval
        self.eventLoop = eventLoop
    }

    func start(_ listener: NameResolverListener) {
        self.state.withLockedValue { $0.listener = listener }
        self.resolveNow()
    }

    func resolveNow() {
        let delay: TimeAmount? = self.state.withLockedValue { state in
            guard !state.isShutDown, !state.isLookingUp, !state.isLookupScheduled else { return nil }
            state.isLookupScheduled = true
            guard let last = state.lastLookup else { return .zero }
            let next = last + self.minimumInterval
            let now = NIODeadline.now()
            return next > now ? next - now : .zero
        }
        guard let delay else { return }
        self.eventLoop.scheduleTask(in: delay) { self.lookUp() }
    }

    func shutdown() {
        self.state.withLockedValue { state in
            state.isShutDown = true
            state.listener = nil
        }
    }

    private func lookUp() {
        let proceed: Bool = self.state.withLockedValue { state in
            state.isLookupScheduled = false
            guard !state.isShutDown else { return false }
            state.isLookingUp = true
            state.lastLookup = .now()
            return true
        }
        guard proceed else { return }
        let host = self.host
        let port = self.port
        let lookup: EventLoopFuture<[ServerAddress]>
        if let server = self.server {
            lookup = DNSExchange.addresses(of: host, port: port, server: server, on: self.eventLoop).map {
                $0.map(ServerAddress.socket)
            }
        } else {
            lookup = NIOThreadPool.singleton.runIfActive(eventLoop: self.eventLoop) {
                try Self.addresses(host: host, port: port)
            }
        }
        lookup.whenComplete { result in
            let listener: NameResolverListener? = self.state.withLockedValue { state in
                state.isLookingUp = false
                return state.isShutDown ? nil : state.listener
            }
            switch result {
            case .success(let addresses):
                listener?.resolved(NameResolution(addresses: addresses))
            case .failure(let error as RPCError):
                listener?.failed(error)
            case .failure(let error):
                listener?.failed(RPCError(.unavailable, "could not resolve '\(host)': \(error)", cause: error))
            }
        }
    }

    /// Every IPv4 and IPv6 address `getaddrinfo` gives for `host`, in its order, without
    /// repeats.
    static func addresses(host: String, port: Int) throws -> [ServerAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = String(cString: gai_strerror(status))
            throw RPCError(.unavailable, "could not resolve '\(host)': \(reason)")
        }
        defer { freeaddrinfo(first) }
        var addresses: [ServerAddress] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            next = entry.pointee.ai_next
            guard let socketAddress = entry.pointee.ai_addr else { continue }
            var address: SocketAddress?
            switch entry.pointee.ai_family {
            case AF_INET:
                let ipv4 = UnsafeRawPointer(socketAddress).load(as: sockaddr_in.self)
                address = SocketAddress(ipv4, host: host)
            case AF_INET6:
                let ipv6 = UnsafeRawPointer(socketAddress).load(as: sockaddr_in6.self)
                address = SocketAddress(ipv6, host: host)
            default:
                break
            }
            if let address, !addresses.contains(.socket(address)) {
                addresses.append(.socket(address))
            }
        }
        guard !addresses.isEmpty else {
            throw RPCError(.unavailable, "'\(host)' has no IPv4 or IPv6 address")
        }
        return addresses
    }
}

/// Makes `DNSResolver`s, on the channel's event loop.
struct DNSResolverFactory: NameResolverFactory {
    let scheme = "dns"
    let minimumInterval: TimeAmount
    let eventLoop: any EventLoop

    /// The default port of `dns` targets, as grpc/grpc `doc/naming.md` says.
    static let defaultPort = 443

    /// The port of a DNS server named without one.
    static let dnsServerPort = 53

    func makeResolver(for target: ChannelTarget) throws -> any NameResolver {
        guard let (host, port) = ChannelTarget.splitHostPort(Substring(target.endpoint), defaultPort: Self.defaultPort),
            !host.isEmpty
        else {
            throw RPCError(.invalidArgument, "the target '\(target)' is not host[:port]")
        }
        let server = try target.authority.map { try Self.server(named: $0, in: target) }
        return DNSResolver(
            host: host, port: port, server: server, minimumInterval: self.minimumInterval, eventLoop: self.eventLoop)
    }

    /// The DNS server of `dns://authority/…`: an IP address with an optional port
    /// (`10.0.0.53`, `10.0.0.53:5353`, `[::1]:5353`), as grpc/grpc `doc/naming.md` has it.
    static func server(named authority: String, in target: ChannelTarget) throws -> SocketAddress {
        let problem = RPCError(
            .invalidArgument,
            "the DNS server '\(authority)' in '\(target)' must be an IP address with an optional port, "
                + "such as 10.0.0.53 or [::1]:5353")
        guard let (host, port) = ChannelTarget.splitHostPort(Substring(authority), defaultPort: Self.dnsServerPort),
            !host.isEmpty, let address = try? SocketAddress(ipAddress: host, port: port)
        else { throw problem }
        return address
    }
}
