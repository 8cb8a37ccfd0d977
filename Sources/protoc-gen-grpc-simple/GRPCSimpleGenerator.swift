import SwiftProtobuf
import SwiftProtobufPluginLibrary

/// The protoc plugin: for every .proto file with at least one service, emits
/// one `<name>.grpc.swift` file with a provider protocol and a client struct
/// per service, and the serialized descriptors of the file and its imports (for
/// server reflection). Files without services produce no output.
struct GRPCSimpleGenerator: CodeGenerator {
    func generate(
        files: [FileDescriptor],
        parameter: any CodeGeneratorParameter,
        protoCompilerContext: any ProtoCompilerContext,
        generatorOutputs: any GeneratorOutputs
    ) throws {
        let options = try GeneratorOptions(parameter: parameter)
        for file in files where !file.services.isEmpty {
            let emitter = FileEmitter(file: file, options: options)
            try generatorOutputs.add(
                fileName: options.fileNaming.outputPath(forProtoFile: file.name),
                contents: try emitter.emit()
            )
        }
    }

    var supportedFeatures: [Google_Protobuf_Compiler_CodeGeneratorResponse.Feature] {
        // Only names are used, so proto3 `optional` and editions need no handling.
        [.proto3Optional, .supportsEditions]
    }

    var supportedEditionRange: ClosedRange<Google_Protobuf_Edition> {
        DescriptorSet.bundledEditionsSupport
    }

    func printHelp() {
        print(
            """
            protoc-gen-grpc-simple: generates gRPC Simple service providers and clients.

            This is a plugin for protoc and should not normally be run directly:

              protoc --swift_out=OUT --grpc-simple_out=OUT \\
                     --grpc-simple_opt=Visibility=Public file.proto

            Options (--grpc-simple_opt=Key=Value, comma separated):
              Visibility=Internal|Public|Package   (default Internal)
              FileNaming=FullPath|PathToUnderscores|DropPath   (default FullPath)
              ProtoPathModuleMappings=<path>   (same file as protoc-gen-swift's)
            """
        )
    }
}
