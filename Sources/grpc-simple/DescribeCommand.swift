import ArgumentParser
import GRPCSimple
import GRPCSimpleDynamic

/// `grpc-simple describe ADDRESS [SYMBOL]`: a service, method, message or enum in .proto syntax.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a service, method, message or enum in .proto syntax.",
        discussion: "Without SYMBOL, every service. Type names are relative to the declaring file's package."
    )

    @Argument(help: "The server: host:port, [ipv6]:port or unix:/path.")
    var address: String

    @Argument(
        help: "A full name: package.Service, package.Service.Method (or Service/Method), package.Message, package.Enum."
    )
    var symbol: String?

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    @OptionGroup(title: "Schema")
    var schema: SchemaOptions

    func run() async throws {
        try await CommandFailure.reporting {
            try await Session.run(address: self.address, connection: self.connection, schema: self.schema) { session in
                guard let symbol = self.symbol else {
                    var first = true
                    for name in try await session.source.serviceNames() {
                        if !first { Output.line("") }
                        first = false
                        let (service, pool) = try await session.service(named: name)
                        Output.line(Self.describe(service, pool: pool))
                    }
                    return
                }
                Output.line(try await Self.describe(symbol.replacingOccurrences(of: "/", with: "."), session: session))
            }
        }
    }

    static func describe(_ symbol: String, session: Session) async throws -> String {
        let name = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
        if let pool = try await session.source.pool(declaring: name) {
            if let service = pool.service(named: name) { return Self.describe(service, pool: pool) }
            if let message = pool.message(named: name) {
                return "// message \(message.fullName) (\(message.fileName))\n"
                    + ProtoPrinter(pool: pool).message(message)
            }
            if let enumType = pool.enumType(named: name) {
                return "// enum \(enumType.fullName) (\(enumType.fileName))\n"
                    + ProtoPrinter(pool: pool).enumType(enumType)
            }
        }
        // Not every reflection service resolves method names: look the method up in its service.
        if let dot = name.lastIndex(of: "."), let pool = try await session.source.pool(declaring: String(name[..<dot])),
            let service = pool.service(named: String(name[..<dot])),
            let method = service.method(named: String(name[name.index(after: dot)...]))
        {
            return "// method \(method.fullName) (\(service.fileName))\n" + ProtoPrinter(pool: pool).method(method)
        }
        let services = try await session.source.serviceNames().joined(separator: ", ")
        throw RPCError(
            .notFound,
            "\(session.source.origin(address: session.address)) has no symbol '\(name)' (its services: \(services))")
    }

    static func describe(_ service: ServiceDescriptor, pool: DescriptorPool) -> String {
        "// service \(service.fullName) (\(service.fileName))\n" + ProtoPrinter(pool: pool).service(service)
    }
}
