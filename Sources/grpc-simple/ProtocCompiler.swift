import Foundation
import GRPCSimple
import SwiftProtobuf

/// Compiles `.proto` files into descriptors with protoc (`PROTOC_PATH`, else `protoc` on
/// `PATH`), as `--proto` asks.
enum ProtocCompiler {
    static func compile(_ files: [String], importPaths: [String]) throws -> [Google_Protobuf_FileDescriptorProto] {
        let protoc = try Self.locate()
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent(
                "grpc-simple-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max)).protoset"
            )
        defer { try? FileManager.default.removeItem(at: output) }
        var paths = importPaths
        if paths.isEmpty {
            // protoc wants each file under an import path: default to each file's folder.
            for file in files {
                let folder = (file as NSString).deletingLastPathComponent
                let path = folder.isEmpty ? "." : folder
                if !paths.contains(path) { paths.append(path) }
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: protoc)
        process.arguments =
            ["--include_imports", "--descriptor_set_out=\(output.path)"] + paths.map { "-I\($0)" } + files
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw RPCError(.invalidArgument, "could not run \(protoc): \(error)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let lines = message.split(whereSeparator: \.isNewline).joined(separator: "; ")
            throw RPCError(.invalidArgument, "protoc could not compile \(files.joined(separator: ", ")): \(lines)")
        }
        guard let data = FileManager.default.contents(atPath: output.path) else {
            throw RPCError(.internal, "protoc wrote no descriptors")
        }
        return try Google_Protobuf_FileDescriptorSet(serializedBytes: data).file
    }

    /// `PROTOC_PATH`, else the first `protoc` on `PATH`.
    private static func locate() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["PROTOC_PATH"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw RPCError(.invalidArgument, "PROTOC_PATH is \(path), which is not an executable file")
            }
            return path
        }
        for folder in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(folder)/protoc"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw RPCError(
            .invalidArgument,
            "--proto needs protoc, which is not on PATH: install it (apt-get install protobuf-compiler, brew install protobuf) or set PROTOC_PATH, or give the schema with --protoset"
        )
    }
}
