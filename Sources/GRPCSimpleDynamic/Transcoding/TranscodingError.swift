/// A message that does not fit its type, in either direction: which message, which field
/// (a JSON path such as `payload.body` or `items[2]`), and why.
package struct TranscodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The full name of the message being converted.
    package var messageType: String
    /// Where in it, as a JSON path; empty for the message itself.
    package var path: String
    /// What is wrong there.
    package var reason: String
    /// The full name of a type an `Any` holds that the descriptors do not declare: a caller
    /// that can fetch it (by reflection) may retry with a larger pool.
    package var missingType: String?

    /// An error at `path` of a `messageType`.
    package init(messageType: String, path: String, reason: String, missingType: String? = nil) {
        self.messageType = messageType
        self.path = path
        self.reason = reason
        self.missingType = missingType
    }

    /// `field 'payload.body' of grpc.testing.SimpleRequest: expected base64 ...`
    package var description: String {
        self.path.isEmpty
            ? "\(self.messageType): \(self.reason)" : "field '\(self.path)' of \(self.messageType): \(self.reason)"
    }
}
