/// A document that is not JSON: where, and why.
package struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The line of the problem, from 1.
    package var line: Int
    /// The column (in characters) of the problem, from 1.
    package var column: Int
    /// What is wrong there.
    package var reason: String

    /// `invalid JSON at line 1, column 9: expected ',' or '}' ...`
    package var description: String {
        "invalid JSON at line \(self.line), column \(self.column): \(self.reason)"
    }
}
