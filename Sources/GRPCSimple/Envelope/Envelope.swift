import NIOCore

/// The envelope every gRPC message travels in (grpc/grpc `doc/PROTOCOL-HTTP2.md`,
/// "Length-Prefixed-Message"): one flags byte, the payload's length as a big-endian
/// `UInt32`, then the payload.
///
/// Everything about envelopes lives in this folder: `EnvelopeWriter` makes them (and
/// compresses), `EnvelopeReader` takes them apart (and inflates), `EnvelopeBuffer` lets
/// swift-protobuf serialize straight into one, and `CompressionAlgorithm` says how a
/// compressed payload is encoded. Both sides of a call use the same reader and writer.
enum Envelope {
    /// The length of the prefix: one flags byte and four length bytes.
    static let prefixLength = 5

    /// The flags byte: bit 0 says the payload is compressed with the call's
    /// `grpc-encoding`. gRPC defines no other bit; a message with another one set is
    /// malformed.
    struct Flags: OptionSet, Sendable {
        let rawValue: UInt8

        /// The payload is compressed.
        static let compressed = Flags(rawValue: 0x01)
    }
}
