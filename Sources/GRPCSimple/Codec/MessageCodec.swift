import NIOCore
import SwiftProtobuf

/// How a call's messages are encoded: protobuf's binary format, or proto3's JSON mapping
/// (`application/grpc+json`, `application/grpc-web+json`, Connect's `application/json`).
///
/// Both serialize straight into an `EnvelopeBuffer`, so a JSON message is framed without a
/// copy, as a binary one is.
enum MessageCodec: Sendable, Hashable {
    case protobuf
    case json

    /// The name in content-types: `proto` or `json`.
    var name: String {
        switch self {
        case .protobuf: "proto"
        case .json: "json"
        }
    }

    /// Serializes `message` into an uncompressed envelope.
    func envelope<M: SwiftProtobuf.Message>(_ message: M) throws(RPCError) -> ByteBuffer {
        switch self {
        case .protobuf:
            var envelope = try ProtobufCodec.serialize(message)
            envelope.writePrefix()
            return envelope.buffer
        case .json:
            do {
                var envelope: EnvelopeBuffer = try message.jsonUTF8Bytes()
                envelope.writePrefix()
                return envelope.buffer
            } catch {
                throw RPCError(.internal, "failed to serialize \(M.protoMessageName) as JSON: \(error)")
            }
        }
    }

    /// Parses a message payload (without its prefix). `what` names the message in the error.
    func decode<M: SwiftProtobuf.Message>(
        _ type: M.Type,
        from payload: ByteBuffer,
        what: @autoclosure () -> String
    ) throws(RPCError) -> M {
        switch self {
        case .protobuf:
            return try ProtobufCodec.decode(M.self, from: payload, what: what())
        case .json:
            do {
                // As connect-go and grpc-go's JSON codecs: fields this version does not know
                // are skipped, so an older server reads a newer client's messages.
                var options = JSONDecodingOptions()
                options.ignoreUnknownFields = true
                return try M(jsonUTF8Bytes: EnvelopeBuffer(payload: payload), options: options)
            } catch {
                // Not `.internal`: the client sent JSON that does not fit the message.
                throw RPCError(.invalidArgument, "failed to parse \(what()) as JSON \(M.protoMessageName): \(error)")
            }
        }
    }
}
