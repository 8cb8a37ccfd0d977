import ArgumentParser
import Foundation
import GRPCSimple
import GRPCSimpleDynamic
import SwiftProtobuf

/// Where schemas come from when the server has no reflection: `.proto` files compiled with
/// protoc at run time, or a protoset (`protoc --include_imports --descriptor_set_out`).
struct SchemaOptions: ParsableArguments {
    @Option(
        name: .customLong("proto"),
        help: ArgumentHelp(
            "A .proto file to take the schema from instead of reflection (repeatable; needs protoc).", valueName: "file"
        ))
    var protoFiles: [String] = []

    @Option(
        name: .customLong("import-path"),
        help: ArgumentHelp(
            "Where --proto files and their imports are found (repeatable; default: each file's folder).",
            valueName: "dir"))
    var importPaths: [String] = []

    @Option(
        name: .customLong("protoset"),
        help: ArgumentHelp(
            "A FileDescriptorSet file to take the schema from instead of reflection (repeatable).", valueName: "file"))
    var protosets: [String] = []

    /// The schema source these options choose: files when any are given, else reflection.
    func source(channel: GRPCChannel, options: CallOptions, address: String) throws -> SchemaSource {
        if self.protoFiles.isEmpty, self.protosets.isEmpty {
            if !self.importPaths.isEmpty {
                throw RPCError(.invalidArgument, "--import-path needs --proto files")
            }
            return .reflection(ReflectionClient(channel: channel, options: options, address: address))
        }
        var files: [Google_Protobuf_FileDescriptorProto] = []
        for path in self.protosets {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw RPCError(.invalidArgument, "cannot read the protoset \(path)")
            }
            do {
                files += try Google_Protobuf_FileDescriptorSet(serializedBytes: data).file
            } catch {
                throw RPCError(.invalidArgument, "\(path) is not a protoset (a serialized FileDescriptorSet): \(error)")
            }
        }
        if !self.protoFiles.isEmpty {
            files += try ProtocCompiler.compile(self.protoFiles, importPaths: self.importPaths)
        }
        let origin =
            self.protosets.isEmpty
            ? "the --proto files" : self.protoFiles.isEmpty ? "the --protoset" : "the --proto and --protoset files"
        do {
            return .files(try DescriptorPool(files: files), origin: origin)
        } catch {
            throw RPCError(.invalidArgument, "\(origin): \(error)")
        }
    }
}
