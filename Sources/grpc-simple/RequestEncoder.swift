import GRPCSimple
import GRPCSimpleDynamic

/// Turns request documents into messages of the method's input type, naming the request (in
/// a stream, by its number) and the field that does not fit; an `Any` of a type the schema
/// has not yet sent is fetched by reflection once.
struct RequestEncoder: Sendable {
    private let call: DynamicCall
    private var pool: DescriptorPool
    private var count = 0

    init(call: DynamicCall) {
        self.call = call
        self.pool = call.pool
    }

    /// The one request of a unary or server-streaming call.
    mutating func single(_ documents: AsyncThrowingStream<[UInt8], any Error>) async throws -> RawMessage {
        var requests: [RawMessage] = []
        for try await document in documents {
            requests.append(try await self.next(document))
        }
        guard requests.count == 1 else {
            throw RPCError(
                .invalidArgument,
                "\(self.call.method.fullName) takes one request, and \(requests.isEmpty ? "none" : "\(requests.count)") were given"
            )
        }
        return requests[0]
    }

    /// The next request of the call.
    mutating func next(_ document: [UInt8]) async throws -> RawMessage {
        self.count += 1
        let which = self.call.method.clientStreaming ? "request \(self.count)" : "the request"
        let json: JSONValue
        do {
            json = try JSONParser.parse(document)
        } catch {
            throw RPCError(.invalidArgument, "\(which): \(error)")
        }
        var fetched = false
        while true {
            guard let type = self.pool.message(named: self.call.method.inputType) else {
                throw RPCError(.internal, "the schema lacks \(self.call.method.inputType)")
            }
            do {
                return try RawMessage(serializedBytes: try JSONToBinary(pool: self.pool).encode(json, as: type))
            } catch let error as TranscodingError {
                if !fetched, let missing = error.missingType,
                    let larger = try await self.call.session.source.pool(adding: missing)
                {
                    self.pool = larger
                    fetched = true
                    continue
                }
                throw RPCError(.invalidArgument, "\(which): \(error)")
            }
        }
    }
}
