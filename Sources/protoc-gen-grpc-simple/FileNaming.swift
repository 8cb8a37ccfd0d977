/// How output file names are derived from the .proto path (as protoc-gen-swift).
enum FileNaming {
    /// `a/b/c.proto` -> `a/b/c.grpc.swift`
    case fullPath
    /// `a/b/c.proto` -> `a_b_c.grpc.swift`
    case pathToUnderscores
    /// `a/b/c.proto` -> `c.grpc.swift`
    case dropPath

    static let fileExtension = ".grpc.swift"

    init?(flag: String) {
        switch flag.lowercased() {
        case "fullpath", "full_path": self = .fullPath
        case "pathtounderscores", "path_to_underscores": self = .pathToUnderscores
        case "droppath", "drop_path": self = .dropPath
        default: return nil
        }
    }

    func outputPath(forProtoFile protoPath: String) -> String {
        let (dir, base) = Self.split(protoPath)
        switch self {
        case .fullPath:
            return dir + base + Self.fileExtension
        case .pathToUnderscores:
            return String(dir.map { $0 == "/" ? "_" : $0 }) + base + Self.fileExtension
        case .dropPath:
            return base + Self.fileExtension
        }
    }

    /// Splits `a/b/c.proto` into (`a/b/`, `c`): the directory keeps its
    /// trailing slash and only the last extension is dropped.
    private static func split(_ path: String) -> (dir: String, base: String) {
        var dir = Substring("")
        var file = Substring(path)
        if let slash = path.lastIndex(of: "/") {
            dir = path[...slash]
            file = path[path.index(after: slash)...]
        }
        if let dot = file.lastIndex(of: "."), dot != file.startIndex {
            file = file[..<dot]
        }
        return (String(dir), String(file))
    }
}
