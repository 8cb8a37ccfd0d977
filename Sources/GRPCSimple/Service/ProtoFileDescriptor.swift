/// One `.proto` file's `google.protobuf.FileDescriptorProto`, serialized: what
/// `protoc-gen-grpc-simple` embeds in generated code so that server reflection
/// (`GRPCReflection`) can tell clients what a server serves.
public struct ProtoFileDescriptor: Sendable, Hashable {
    /// The file's path as protoc saw it, e.g. `grpc/testing/test.proto`.
    public let name: String
    /// The serialized `google.protobuf.FileDescriptorProto` (without source code info).
    public let serializedBytes: [UInt8]

    /// A descriptor from its serialized bytes.
    public init(name: String, serializedBytes: [UInt8]) {
        self.name = name
        self.serializedBytes = serializedBytes
    }

    /// The form generated code uses: the bytes as base64 text, which is compact and fast to
    /// compile. The text comes from the generator, never from a peer: text that is not base64
    /// is a bug in the generated file and stops the program with the file's name.
    public init(name: String, base64Encoded: String) {
        guard let bytes = Base64.decode(Substring(base64Encoded)) else {
            preconditionFailure("the embedded descriptor of \(name) is not base64; regenerate the file")
        }
        self.init(name: name, serializedBytes: bytes)
    }
}
