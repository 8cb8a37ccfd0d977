import GRPCSimple
import GRPCSimpleDynamic
import SwiftProtobuf

/// Where the descriptors of services and messages come from: the server's reflection
/// service, or files given on the command line (`--proto`, `--protoset`).
enum SchemaSource: Sendable {
    case reflection(ReflectionClient)
    /// Every descriptor is known up front; `origin` names the files for error messages.
    case files(DescriptorPool, origin: String)

    /// The services the schema offers, sorted.
    func serviceNames() async throws -> [String] {
        switch self {
        case .reflection(let client): try await client.serviceNames()
        case .files(let pool, _): pool.serviceNames
        }
    }

    /// A pool that declares `symbol` and everything it needs; nil when nothing declares it.
    func pool(declaring symbol: String) async throws -> DescriptorPool? {
        switch self {
        case .reflection(let client):
            guard let files = try await client.files(containing: symbol) else { return nil }
            return try Self.pool(files)
        case .files(let pool, _):
            return pool.declares(symbol) ? pool : nil
        }
    }

    /// A pool that also declares `typeName` (a type an `Any` holds), or nil when the schema
    /// has no such type.
    func pool(adding typeName: String) async throws -> DescriptorPool? {
        switch self {
        case .reflection(let client):
            guard try await client.files(containing: typeName) != nil else { return nil }
            return try Self.pool(await client.allFiles())
        case .files:
            return nil
        }
    }

    /// Where the schema comes from, for error messages: `127.0.0.1:50051` or `the --proto files`.
    func origin(address: String) -> String {
        switch self {
        case .reflection: address
        case .files(_, let origin): origin
        }
    }

    private static func pool(_ files: [Google_Protobuf_FileDescriptorProto]) throws -> DescriptorPool {
        do {
            return try DescriptorPool(files: files)
        } catch {
            throw RPCError(.internal, "the server's reflection sent descriptors that do not fit together: \(error)")
        }
    }
}

extension DescriptorPool {
    /// Whether `symbol` names a service, method, message or enum of the pool.
    func declares(_ symbol: String) -> Bool {
        if self.service(named: symbol) != nil || self.message(named: symbol) != nil
            || self.enumType(named: symbol) != nil
        {
            return true
        }
        guard let dot = symbol.lastIndex(of: ".") else { return false }
        return self.service(named: String(symbol[..<dot]))?.method(named: String(symbol[symbol.index(after: dot)...]))
            != nil
    }
}
