import SwiftProtobuf

/// A `.proto` file: its package, imports, and what it declares (by full name).
package struct FileDescriptor: Sendable {
    /// The file's name, as it was imported (`grpc/testing/test.proto`).
    package let name: String
    /// Its package (`grpc.testing`), empty for none.
    package var package: String { self.proto.package }
    /// The files it imports.
    package var dependencies: [String] { self.proto.dependency }
    /// The file as the descriptor declared it.
    package let proto: Google_Protobuf_FileDescriptorProto

    /// `proto2`, `proto3` or `editions`.
    package var syntax: String {
        if self.proto.hasEdition, self.proto.edition != .proto2, self.proto.edition != .proto3 { return "editions" }
        return self.proto.syntax.isEmpty ? "proto2" : self.proto.syntax
    }
}
