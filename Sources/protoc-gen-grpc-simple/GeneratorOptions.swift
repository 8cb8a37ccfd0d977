import SwiftProtobufPluginLibrary

/// The parsed `--grpc-simple_opt=...` parameters. Keys and values follow
/// protoc-gen-swift so the same options can be passed to both plugins.
struct GeneratorOptions {
    static let knownKeys = ["Visibility", "FileNaming", "ProtoPathModuleMappings", "AlwaysWriteFile"]

    enum Visibility: String, CaseIterable {
        case `internal`
        case `public`
        case `package`

        /// What to put before a declaration ("" for internal).
        var declarationPrefix: String {
            self == .internal ? "" : "\(rawValue) "
        }
    }

    var visibility: Visibility = .internal
    var fileNaming: FileNaming = .fullPath
    var moduleMappings = ProtoFileToModuleMappings()
    /// Write a file for every .proto, one without services holding only a comment: for build
    /// systems that name every output in advance (the SwiftPM build plugin).
    var alwaysWriteFile = false

    init(parameter: any CodeGeneratorParameter) throws {
        for (key, value) in parameter.parsedPairs {
            switch key {
            case "Visibility":
                guard let parsed = Visibility(rawValue: value.lowercased()) else {
                    throw GenerationError.invalidParameterValue(
                        name: key,
                        value: value,
                        expected: ["Internal", "Public", "Package"]
                    )
                }
                self.visibility = parsed
            case "FileNaming":
                guard let parsed = FileNaming(flag: value) else {
                    throw GenerationError.invalidParameterValue(
                        name: key,
                        value: value,
                        expected: ["FullPath", "PathToUnderscores", "DropPath"]
                    )
                }
                self.fileNaming = parsed
            case "AlwaysWriteFile":
                guard let parsed = Bool(value.lowercased()) else {
                    throw GenerationError.invalidParameterValue(name: key, value: value, expected: ["true", "false"])
                }
                self.alwaysWriteFile = parsed
            case "ProtoPathModuleMappings":
                guard !value.isEmpty else { continue }
                do {
                    self.moduleMappings = try ProtoFileToModuleMappings(path: value)
                } catch {
                    throw GenerationError.wrapped(message: "Parameter '\(key)=\(value)'", error: error)
                }
            default:
                throw GenerationError.unknownParameter(name: key)
            }
        }
    }
}
