/// A oneof of a message: its name and the indices (in the message's `fields`) of its members.
/// proto3 `optional` fields sit in synthetic oneofs of one member, which the JSON mapping and
/// the printer treat as plain optional fields.
package struct OneofDescriptor: Sendable {
    /// The oneof's name.
    package let name: String
    /// Indices into the message's `fields`.
    package let fieldIndices: [Int]
    /// A proto3 `optional` field's oneof.
    package let isSynthetic: Bool
}
