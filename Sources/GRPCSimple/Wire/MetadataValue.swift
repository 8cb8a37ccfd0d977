/// One metadata value: a string for ordinary keys, bytes for `-bin` keys.
public enum MetadataValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case binary([UInt8])

    /// The string, or `<N bytes>`.
    public var description: String {
        switch self {
        case .string(let string): string
        case .binary(let bytes): "<\(bytes.count) bytes>"
        }
    }
}
