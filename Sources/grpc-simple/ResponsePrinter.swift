import GRPCSimple
import GRPCSimpleDynamic

/// Prints each response as a JSON document on standard output as it arrives; an `Any` of a
/// type the schema has not yet sent is fetched by reflection once.
struct ResponsePrinter {
    private let call: DynamicCall
    private var pool: DescriptorPool
    private var count = 0

    init(call: DynamicCall) {
        self.call = call
        self.pool = call.pool
    }

    mutating func print(_ response: RawMessage) async throws {
        self.count += 1
        let bytes = response.bytes
        var fetched = false
        while true {
            guard let type = self.pool.message(named: self.call.method.outputType) else {
                throw RPCError(.internal, "the schema lacks \(self.call.method.outputType)")
            }
            do {
                let json = try BinaryToJSON(pool: self.pool, emitDefaults: self.call.emitDefaults).decode(
                    bytes, as: type)
                Output.line(JSONWriter.write(json))
                return
            } catch {
                if !fetched, let missing = error.missingType,
                    let larger = try await self.call.session.source.pool(adding: missing)
                {
                    self.pool = larger
                    fetched = true
                    continue
                }
                let which = self.call.method.serverStreaming ? "response \(self.count)" : "the response"
                throw RPCError(.internal, "\(which) does not fit the schema: \(error)")
            }
        }
    }
}
