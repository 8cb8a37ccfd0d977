import Foundation

/// Finds protoc: `PROTOC_PATH`, else the first `protoc` on `PATH`; without one, the build
/// fails with one line that says how to get it.
enum ProtocLocator {
    static func locate() throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["PROTOC_PATH"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw PluginError("PROTOC_PATH is \(path), which is not an executable file; point it at protoc")
            }
            return URL(fileURLWithPath: path)
        }
        for folder in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appending(path: "protoc")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw PluginError(
            "GRPCSimpleGenerator needs protoc to compile .proto files, and it is not on PATH: install it "
                + "(apt-get install protobuf-compiler; brew install protobuf) or set PROTOC_PATH=/path/to/protoc")
    }
}
