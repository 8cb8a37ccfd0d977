import SwiftProtobufPluginLibrary

extension CodePrinter {
    /// Prints `///` comment lines (each ending in a newline) at the current
    /// indentation. Does nothing for an empty comment.
    mutating func printComment(_ comment: String) {
        guard !comment.isEmpty else { return }
        print(comment, newlines: false)
    }

    /// Prints the proto comment (if any) followed by a generated summary; a
    /// blank `///` line separates the two.
    mutating func printComment(proto: String, summary: [String]) {
        printComment(proto)
        if !proto.isEmpty {
            print("///")
        }
        for line in summary {
            print("/// \(line)")
        }
    }
}

extension ServiceDescriptor {
    /// The `///` comment from the .proto, including any deprecation note.
    var docComment: String { protoSourceCommentsWithDeprecation() }
}

extension MethodDescriptor {
    /// The `///` comment from the .proto, including any deprecation note.
    var docComment: String { protoSourceCommentsWithDeprecation() }
}
