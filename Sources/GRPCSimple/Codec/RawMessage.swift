import SwiftProtobuf

/// A message of any type, kept as its serialized bytes: for calling a method whose types are
/// known only at run time (a proxy, a gateway, the `grpc-simple` command line), with the
/// channel's usual calls and a `MethodDescriptor(path:kind:)`.
///
/// ```swift
/// let method = MethodDescriptor(path: "/AsillaService/getInfor", kind: .unary)!
/// let request = try RawMessage(serializedBytes: requestBytes)
/// let reply = try await channel.unary(method, request: request, responseType: RawMessage.self)
/// print(reply.bytes)  // the Person, serialized
/// ```
///
/// Its bytes pass through untouched: whatever the sender serialized is what the receiver
/// parses. They are read as protobuf's binary format on the way in (every field kept as an
/// unknown field, in order), so bytes that are not protobuf fail to parse as any message
/// would. It has no fields of its own, and so no JSON or text form: `grpc-simple` turns the
/// bytes into JSON with the method's descriptors.
public struct RawMessage: Sendable {
    /// Holds the bytes: every field of the serialized message, as read.
    public var unknownFields = SwiftProtobuf.UnknownStorage()

    /// An empty message (zero bytes). `init(serializedBytes:)` makes one that holds bytes.
    public init() {}

    /// The serialized message.
    public var bytes: [UInt8] { (try? self.serializedBytes()) ?? [] }
}

extension RawMessage: SwiftProtobuf.Message, SwiftProtobuf._MessageImplementationBase {
    /// A name of its own: it stands for whatever message its bytes hold.
    public static let protoMessageName = "grpc_simple.RawMessage"

    /// Keeps every field as an unknown field (the decoder does so for fields it is not given).
    public mutating func decodeMessage<D: SwiftProtobuf.Decoder>(decoder: inout D) throws {
        while try decoder.nextFieldNumber() != nil {}
    }

    /// Writes the kept bytes back as they came.
    public func traverse<V: SwiftProtobuf.Visitor>(visitor: inout V) throws {
        try self.unknownFields.traverse(visitor: &visitor)
    }

    /// Equal when the bytes are.
    public static func == (lhs: RawMessage, rhs: RawMessage) -> Bool {
        lhs.unknownFields == rhs.unknownFields
    }
}
