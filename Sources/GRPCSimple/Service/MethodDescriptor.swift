/// One method of a service: its service, its name and its kind.
///
/// Generated code declares one per method (`AsillaService.Method.getInfor`), and the
/// server's router, the client and interceptors all know a method by it, so its path is
/// written once and interceptors compare methods, not strings:
///
/// ```swift
/// if call.method == AsillaService.Method.getInfor { ... }
/// ```
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// The fully qualified service name, e.g. `grpc.health.v1.Health`.
    public let service: String
    /// The method's name as the `.proto` file spells it, e.g. `Check`.
    public let name: String
    /// Which of the four kinds of RPC it is.
    public let kind: RPCKind
    /// The HTTP/2 `:path` of its calls, `/service/name`, e.g. `/grpc.health.v1.Health/Check`.
    public let path: String
    /// `service/name`, e.g. `grpc.health.v1.Health/Check`: the full method name of gRPC's
    /// metrics (`grpc.method`) and of OpenTelemetry's span names.
    public let fullName: String
    /// What calling it twice does (the `.proto`'s `idempotency_level`): a server answers
    /// Connect's GET requests for `.noSideEffects` methods, which browsers and CDNs can cache.
    public let idempotency: Idempotency

    /// - Parameters:
    ///   - service: The fully qualified service name (`package.Service`).
    ///   - name: The method's name.
    ///   - kind: Which of the four kinds of RPC it is.
    ///   - idempotency: The method's `idempotency_level`; `.unknown` when the `.proto` says
    ///     nothing.
    public init(service: String, name: String, kind: RPCKind, idempotency: Idempotency = .unknown) {
        self.service = service
        self.name = name
        self.kind = kind
        self.idempotency = idempotency
        self.fullName = "\(service)/\(name)"
        self.path = "/\(self.fullName)"
    }

    /// A descriptor for a method path (`/package.Service/Method`), or nil when `path` is not
    /// one: for calling a method known only by its path.
    public init?(path: String, kind: RPCKind) {
        guard let parsed = MethodPath(path) else { return nil }
        self.init(service: parsed.service, name: parsed.method, kind: kind)
    }

    /// The path, e.g. `/AsillaService/getInfor`.
    public var description: String { self.path }

    /// Equal when they name the same method of the same kind: a descriptor made from a path
    /// (`init(path:kind:)`) equals the generated one, whatever the `.proto` says of idempotency.
    public static func == (lhs: MethodDescriptor, rhs: MethodDescriptor) -> Bool {
        lhs.path == rhs.path && lhs.kind == rhs.kind
    }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.path)
        hasher.combine(self.kind)
    }
}

/// A request path split into service and method.
struct MethodPath: Hashable {
    let service: String
    let method: String

    init?(_ path: String) {
        guard path.first == "/" else { return nil }
        let parts = path.dropFirst().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[1].contains("/") else { return nil }
        self.service = String(parts[0])
        self.method = String(parts[1])
    }
}
