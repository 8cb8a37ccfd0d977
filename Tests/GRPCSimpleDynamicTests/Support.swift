import Foundation
import GRPCSimple
import GRPCSimpleDynamic
import SwiftProtobuf
import TestServices
import Testing

/// The descriptors of the test protos, as the generator embeds them (each file with its
/// imports, well-known types included), in one pool.
enum TestPool {
    static let pool: DescriptorPool = {
        let files = (Grpcsimple_Json_Json_FileDescriptors.all + Grpcsimple_Legacy_Legacy_FileDescriptors.all)
            .map { try! Google_Protobuf_FileDescriptorProto(serializedBytes: $0.serializedBytes) }
        return try! DescriptorPool(files: files)
    }()

    static func type<M: SwiftProtobuf.Message>(_: M.Type) -> MessageDescriptor {
        self.pool.message(named: M.protoMessageName)!
    }
}

/// Compares JSON values as the JSON mapping means them: members in any order, numbers by value.
func sameJSON(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.number(let x), .number(let y)):
        return x == y || Double(x) == Double(y)
    case (.array(let x), .array(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
    case (.object(let x), .object(let y)):
        guard x.count == y.count else { return false }
        return x.allSatisfy { member in
            y.first { $0.key == member.key }.map { sameJSON(member.value, $0.value) } ?? false
        }
    default:
        return a == b
    }
}

/// Whether two messages are the same: `==`, or the same deterministic serialization (an
/// `Any` compares unequal to itself once one copy has been through JSON and the other not).
func sameMessage<M: SwiftProtobuf.Message & Equatable>(_ a: M, _ b: M) -> Bool {
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true
    let bytes = { (message: M) -> [UInt8]? in try? message.serializedBytes(options: options) }
    return a == b || bytes(a) == bytes(b)
}

/// Runs the two oracles on `message`:
/// 1. binary → our JSON; swift-protobuf parses that JSON back to the same message, and our
///    JSON equals swift-protobuf's own JSON of it (members in any order, numbers by value);
/// 2. swift-protobuf's JSON (JSON names, then proto names) → our binary; swift-protobuf parses
///    that binary back to the same message.
func expectRoundTrips<M: SwiftProtobuf.Message & Equatable>(
    _ message: M,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let type = TestPool.type(M.self)
    let binary: [UInt8] = try message.serializedBytes()
    let ours = try BinaryToJSON(pool: TestPool.pool).decode(binary, as: type)
    let oursText = JSONWriter.write(ours)
    #expect(sameMessage(try M(jsonString: oursText), message), "our JSON:\n\(oursText)", sourceLocation: sourceLocation)
    let theirsText = try message.jsonString()
    let theirs = try JSONParser.parse(theirsText)
    #expect(
        sameJSON(ours, theirs), "ours:\n\(oursText)\nswift-protobuf's:\n\(theirsText)", sourceLocation: sourceLocation)

    for options in [
        JSONEncodingOptions(),
        {
            var o = JSONEncodingOptions()
            o.preserveProtoFieldNames = true
            return o
        }(),
    ] {
        let json = try JSONParser.parse(try message.jsonString(options: options))
        let encoded = try JSONToBinary(pool: TestPool.pool).encode(json, as: type)
        #expect(sameMessage(try M(serializedBytes: encoded), message), sourceLocation: sourceLocation)
    }
}

/// The error `body` throws, or nil (and a recorded issue) if it throws none.
func transcodingError(
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) -> TranscodingError? {
    do {
        try body()
        Issue.record("expected a TranscodingError", sourceLocation: sourceLocation)
        return nil
    } catch let error as TranscodingError {
        return error
    } catch {
        Issue.record("expected a TranscodingError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Encodes `json` (text) as `M` with our encoder.
func encode<M: SwiftProtobuf.Message>(_ json: String, as _: M.Type) throws -> [UInt8] {
    try JSONToBinary(pool: TestPool.pool).encode(try JSONParser.parse(json), as: TestPool.type(M.self))
}
