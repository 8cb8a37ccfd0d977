import NIOCore
import SwiftProtobuf

/// Serializes protobuf messages and parses them, without copies: a message serializes
/// straight into an `EnvelopeBuffer` (whose first five bytes `EnvelopeWriter` fills with
/// the prefix), and parses straight out of the buffer its bytes arrived in.
enum ProtobufCodec {
    /// Serializes `message` into a buffer with room for the envelope's prefix.
    static func serialize<M: SwiftProtobuf.Message>(_ message: M) throws(RPCError) -> EnvelopeBuffer {
        do {
            return try message.serializedBytes()
        } catch {
            throw RPCError(.internal, "failed to serialize \(M.protoMessageName): \(error)")
        }
    }

    /// Parses a message payload (without its prefix). `what` names the message in the
    /// error, e.g. "the response of /AsillaService/getInfor".
    static func decode<M: SwiftProtobuf.Message>(
        _ type: M.Type,
        from payload: ByteBuffer,
        what: @autoclosure () -> String
    ) throws(RPCError) -> M {
        do {
            return try M(serializedBytes: EnvelopeBuffer(payload: payload))
        } catch {
            throw RPCError(.internal, "failed to parse \(what()) as \(M.protoMessageName): \(error)")
        }
    }
}
