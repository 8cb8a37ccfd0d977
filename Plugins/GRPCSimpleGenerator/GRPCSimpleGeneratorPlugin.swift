import Foundation
import PackagePlugin

/// The SwiftPM build-tool plugin `GRPCSimpleGenerator`: a target that lists it in `plugins:`
/// gets the `.proto` files in its folder compiled at build time, messages by swift-protobuf's
/// `protoc-gen-swift` (`name.pb.swift`) and services by `protoc-gen-grpc-simple`
/// (`name.grpc.swift`). protoc comes from `PROTOC_PATH` or `PATH`; an optional
/// `grpc-simple-config.json` in the target sets visibility, import paths and what to generate.
@main
struct GRPCSimpleGeneratorPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        guard let target = target as? SwiftSourceModuleTarget else { return [] }
        let protos = target.sourceFiles(withSuffix: "proto").map(\.url)
        guard !protos.isEmpty else { return [] }
        let directory = target.directoryURL
        let configuration = try GeneratorConfiguration.load(from: directory)
        let protoc = try ProtocLocator.locate()
        let protocGenSwift = try context.tool(named: "protoc-gen-swift").url
        let protocGenGRPCSimple = try context.tool(named: "protoc-gen-grpc-simple").url
        let output = context.pluginWorkDirectoryURL
        let importPaths = [directory] + configuration.importPaths.map { directory.appending(path: $0) }
        let options = "Visibility=\(configuration.visibility.rawValue),FileNaming=PathToUnderscores"

        return protos.sorted { $0.path < $1.path }.map { proto in
            // The path protoc knows the file by: relative to the target's folder.
            let relative = String(proto.path.dropFirst(directory.path.count)).trimmingPrefix("/")
            let base = String(relative.dropLast(".proto".count)).replacingOccurrences(of: "/", with: "_")
            var arguments = importPaths.map { "--proto_path=\($0.path)" }
            var outputs: [URL] = []
            if configuration.messages {
                arguments += [
                    "--plugin=protoc-gen-swift=\(protocGenSwift.path)",
                    "--swift_out=\(output.path)",
                    "--swift_opt=\(options)",
                ]
                outputs.append(output.appending(path: base + ".pb.swift"))
            }
            if configuration.services {
                arguments += [
                    "--plugin=protoc-gen-grpc-simple=\(protocGenGRPCSimple.path)",
                    "--grpc-simple_out=\(output.path)",
                    // SwiftPM must know every output in advance: a file without services gets
                    // one holding only a comment.
                    "--grpc-simple_opt=\(options),AlwaysWriteFile=true",
                ]
                outputs.append(output.appending(path: base + ".grpc.swift"))
            }
            arguments.append(String(relative))
            return .buildCommand(
                displayName: "Generating Swift for \(relative) with protoc",
                executable: protoc,
                arguments: arguments,
                inputFiles: [proto, protocGenSwift, protocGenGRPCSimple] + (configuration.file.map { [$0] } ?? []),
                outputFiles: outputs
            )
        }
    }
}
