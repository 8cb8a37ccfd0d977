import SwiftProtobuf
import SwiftProtobufPluginLibrary

/// Emits `<Prefix><File>_FileDescriptors`: the serialized `FileDescriptorProto` of the file
/// and of every file it imports, transitively, for server reflection. Each service's
/// `protoFileDescriptors` returns them.
///
/// The whole import closure goes into the file, so message-only imports and well-known
/// types (`google/protobuf/*.proto`, whose descriptors swift-protobuf does not ship) are
/// there without generating anything for them. Source code info (comments) is left out,
/// as protoc-gen-go does; the bytes are base64 in a string literal, which compiles fast.
struct DescriptorEmitter {
    let file: FileDescriptor
    /// "public " or "" (internal).
    let visibility: String
    let namer: SwiftProtobufNamer

    /// Characters of base64 per line of the string literal.
    private static let lineLength = 100

    /// The enum's name: the package's type prefix, then the file's name, e.g.
    /// `Grpc_Testing_Test_FileDescriptors` for grpc/testing/test.proto. When the file's
    /// directories are not its package's (`a/x.proto` and `b/x.proto` both in package `p`),
    /// they are part of the name too (`P_A_X_…`, `P_B_X_…`), so the two do not clash.
    static func enumName(for file: FileDescriptor, namer: SwiftProtobufNamer) -> String {
        var path = Substring(file.name)
        if path.hasSuffix(".proto") { path = path.dropLast(".proto".count) }
        var components = path.split(separator: "/").map(String.init)
        let directories = components.dropLast()
        if directories.isEmpty || Array(directories) == file.package.split(separator: ".").map(String.init) {
            components = Array(components.suffix(1))
        }
        let name = components.map { NamingUtils.toUpperCamelCase($0) }.joined(separator: "_")
        return namer.typePrefix(forFile: file) + name + "_FileDescriptors"
    }

    func emit(into p: inout CodePrinter) throws {
        let embedded = try Self.importClosure(of: file).map { file in
            let bytes: [UInt8] = try file.extractProto(options: ExtractProtoOptions()).serializedBytes()
            return (name: file.name, base64: Self.base64(bytes))
        }
        p.print(
            "/// The serialized descriptors of `\(file.name)` and of every file it imports, for",
            "/// server reflection (`GRPCReflection`).",
            "\(visibility)enum \(Self.enumName(for: file, namer: namer)) {"
        )
        p.withIndentation { p in
            p.print("\(visibility)static let all: [ProtoFileDescriptor] = [")
            p.withIndentation { p in
                for (name, base64) in embedded {
                    printDescriptor(name: name, base64: base64, into: &p)
                }
            }
            p.print("]")
        }
        p.print("}")
    }

    /// The file itself, then its imports depth first, each once.
    static func importClosure(of file: FileDescriptor) -> [FileDescriptor] {
        var seen: Set<String> = []
        var ordered: [FileDescriptor] = []
        func visit(_ file: FileDescriptor) {
            guard seen.insert(file.name).inserted else { return }
            ordered.append(file)
            file.dependencies.forEach(visit)
        }
        visit(file)
        return ordered
    }

    private func printDescriptor(name: String, base64: String, into p: inout CodePrinter) {
        p.print("ProtoFileDescriptor(")
        p.withIndentation { p in
            p.print("name: \"\(Self.escaped(name))\",")
            p.print("base64Encoded: \"\"\"")
            var lines: [Substring] = []
            var rest = Substring(base64)
            while !rest.isEmpty {
                lines.append(rest.prefix(Self.lineLength))
                rest = rest.dropFirst(Self.lineLength)
            }
            for (index, line) in lines.enumerated() {
                // A trailing backslash joins the lines: the literal holds no newline.
                p.print(index == lines.count - 1 ? String(line) : "\(line)\\")
            }
            p.print("\"\"\"")
        }
        p.print("),")
    }

    /// `name` inside a Swift string literal.
    private static func escaped(_ name: String) -> String {
        var escaped = ""
        for character in name {
            if character == "\\" || character == "\"" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding.
    static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var chunk: UInt32 = 0
            for offset in 0..<3 {
                chunk = chunk << 8 | (offset < count ? UInt32(bytes[index + offset]) : 0)
            }
            for position in 0..<4 {
                if position <= count {
                    out.append(alphabet[Int(chunk >> (18 - 6 * UInt32(position)) & 63)])
                } else {
                    out.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
