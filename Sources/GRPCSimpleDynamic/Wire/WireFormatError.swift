/// Bytes that are not protobuf's binary format: a truncated value, an impossible tag.
package struct WireFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    package var description: String

    /// An error saying `description`.
    package init(_ description: String) {
        self.description = description
    }
}
