/// Descriptors that do not fit together: an import that is missing, or a type that no file
/// declares.
package struct DescriptorPoolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is missing or wrong.
    package var description: String

    /// An error saying `description`.
    package init(_ description: String) {
        self.description = description
    }
}
