import GRPCSimple
import GRPCSimpleDynamic

/// What every subcommand starts from: the channel to the server, the options of its calls,
/// and where schemas come from; and finding services and methods in the schema with errors
/// that say what there is instead.
struct Session: Sendable {
    let address: String
    let channel: GRPCChannel
    let options: CallOptions
    let source: SchemaSource

    init(address: String, connection: ConnectionOptions, schema: SchemaOptions) throws {
        self.address = address
        self.channel = try connection.channel(to: address)
        self.options = try connection.callOptions(start: .now)
        self.source = try schema.source(channel: self.channel, options: self.options, address: address)
    }

    /// The service named `name` (a full name, or a short one the schema has once) and a pool
    /// with its types.
    func service(named name: String) async throws -> (ServiceDescriptor, DescriptorPool) {
        if let pool = try await self.source.pool(declaring: name), let service = pool.service(named: name) {
            return (service, pool)
        }
        let offered = try await self.source.serviceNames()
        let matches = offered.filter { $0.hasSuffix("." + name) }
        if matches.count == 1, let pool = try await self.source.pool(declaring: matches[0]),
            let service = pool.service(named: matches[0])
        {
            return (service, pool)
        }
        throw RPCError(
            .notFound,
            "\(self.source.origin(address: self.address)) has no service '\(name)' (it offers: \(offered.joined(separator: ", ")))"
        )
    }

    /// `Service/Method` or `Service.Method`: the method, its service's descriptor and a pool.
    func method(named text: String) async throws -> (ServiceDescriptor.Method, DescriptorPool) {
        let separator = text.contains("/") ? text.lastIndex(of: "/") : text.lastIndex(of: ".")
        guard let separator, separator != text.startIndex, text.index(after: separator) != text.endIndex else {
            throw RPCError(.invalidArgument, "'\(text)' is not SERVICE/METHOD (e.g. grpc.health.v1.Health/Check)")
        }
        let serviceName = String(text[..<separator]).trimmingPrefix("/")
        let methodName = String(text[text.index(after: separator)...])
        let (service, pool) = try await self.service(named: String(serviceName))
        guard let method = service.method(named: methodName) else {
            let names = service.methods.map(\.name).joined(separator: ", ")
            throw RPCError(
                .notFound, "service \(service.fullName) has no method '\(methodName)' (its methods: \(names))")
        }
        return (method, pool)
    }

    /// Runs `body` with a session, and closes its channel however `body` ends.
    static func run(
        address: String,
        connection: ConnectionOptions,
        schema: SchemaOptions,
        _ body: (Session) async throws -> Void
    ) async throws {
        let session = try Session(address: address, connection: connection, schema: schema)
        do {
            try await body(session)
        } catch {
            await session.channel.close()
            throw error
        }
        await session.channel.close()
    }
}
