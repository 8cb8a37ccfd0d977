/// Resolves a channel's target to the addresses of its servers, and keeps them current.
///
/// The channel calls `start` once, when its first call needs addresses; `resolveNow` when it
/// wants fresh ones (a connection dropped or got GOAWAY, a connect attempt failed); and
/// `shutdown` when it closes. The resolver reports through the listener: each answer of a
/// resolver that is asked (DNS), or every change of one that watches (Kubernetes
/// endpoints, a registry). It may report from any thread.
///
/// Register a resolver of your own for a scheme with `GRPCChannel.Configuration.nameResolvers`:
///
/// ```swift
/// struct Registry: NameResolverFactory {
///     let scheme = "registry"
///     func makeResolver(for target: ChannelTarget) throws -> any NameResolver { ... }
/// }
/// configuration.nameResolvers = [Registry()]
/// let channel = try GRPCChannel(target: "registry:payments", configuration: configuration)
/// ```
public protocol NameResolver: Sendable {
    /// Starts resolving; results go to `listener`.
    func start(_ listener: NameResolverListener)
    /// The channel wants fresh addresses. A resolver may wait (DNS waits at least its
    /// minimum interval between two lookups) or ignore it (one that watches).
    func resolveNow()
    /// The channel closed: stop, and report nothing more.
    func shutdown()
}

/// Where a `NameResolver` reports its results; safe to call from any thread.
public struct NameResolverListener: Sendable {
    let report: @Sendable (Result<NameResolution, RPCError>) -> Void

    /// A listener that passes each result to `report` (for testing a resolver).
    public init(_ report: @escaping @Sendable (Result<NameResolution, RPCError>) -> Void) {
        self.report = report
    }

    /// The target resolved to these addresses (they replace the previous ones).
    public func resolved(_ resolution: NameResolution) {
        self.report(.success(resolution))
    }

    /// Resolving failed; the channel keeps the addresses it has, if any, and asks again
    /// later. Calls that cannot wait fail with `error`.
    public func failed(_ error: RPCError) {
        self.report(.failure(error))
    }
}

/// Makes the resolvers of one scheme.
public protocol NameResolverFactory: Sendable {
    /// The scheme it resolves, e.g. `dns` or `registry`.
    var scheme: String { get }
    /// A resolver for `target`, whose scheme is this factory's; throws an `RPCError` naming
    /// what is wrong with a target it cannot resolve.
    func makeResolver(for target: ChannelTarget) throws -> any NameResolver
}
