/// One `"key": value` member of a JSON object.
package struct JSONMember: Sendable, Hashable {
    /// The member's name.
    package var key: String
    /// The member's value.
    package var value: JSONValue

    /// A member named `key`.
    package init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}
