/// Custom metadata of a call: ordered key-value pairs sent as HTTP/2 headers or trailers.
///
/// Keys are lowercase ASCII (`0-9 a-z - _ .`). A key ending in `-bin` carries binary
/// values, sent base64-encoded; other keys carry printable ASCII strings. A key may repeat.
///
/// ```swift
/// var metadata: Metadata = ["authorization": "Bearer abc"]
/// metadata.add("trace-bin", binary: [1, 2, 3])
/// metadata["authorization"]  // "Bearer abc"
/// ```
public struct Metadata: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// Keys are strings.
    public typealias Key = String
    /// Values given as string literals are strings.
    public typealias Value = String

    /// One key-value pair.
    public struct Entry: Sendable, Hashable {
        /// The lowercase key.
        public var key: String
        /// A string, or bytes for a `-bin` key.
        public var value: MetadataValue
    }

    private var entries: [Entry] = []

    /// No metadata.
    public init() {}

    /// Metadata from string pairs, e.g. `["authorization": "Bearer abc"]`.
    public init(dictionaryLiteral elements: (String, String)...) {
        for (key, value) in elements {
            self.add(key, value)
        }
    }

    /// How many entries there are (a repeated key counts each time).
    public var count: Int { self.entries.count }
    /// Whether there are no entries.
    public var isEmpty: Bool { self.entries.isEmpty }

    /// The entries in order.
    public func makeIterator() -> IndexingIterator<[Entry]> {
        self.entries.makeIterator()
    }

    /// Adds a string value. For a `-bin` key the string's UTF-8 bytes are the value.
    public mutating func add(_ key: String, _ value: String) {
        let key = key.lowercased()
        if key.hasSuffix("-bin") {
            self.entries.append(Entry(key: key, value: .binary(Array(value.utf8))))
        } else {
            self.entries.append(Entry(key: key, value: .string(value)))
        }
    }

    /// Adds an entry received from the wire, whose key HTTP/2 already requires to be
    /// lowercase (NIOHTTP2 checks it), so it is not lowercased again.
    mutating func append(receivedKey key: String, _ value: MetadataValue) {
        self.entries.append(Entry(key: key, value: value))
    }

    /// Adds a binary value; the key must end in `-bin`.
    public mutating func add(_ key: String, binary: [UInt8]) {
        self.entries.append(Entry(key: key.lowercased(), value: .binary(binary)))
    }

    /// Replaces every value of `key` with this one.
    public mutating func replace(_ key: String, _ value: String) {
        self.remove(key)
        self.add(key, value)
    }

    /// Removes every value of `key`.
    public mutating func remove(_ key: String) {
        let key = key.lowercased()
        self.entries.removeAll { $0.key == key }
    }

    /// Every value of `key`, in order.
    public func values(_ key: String) -> [MetadataValue] {
        let key = key.lowercased()
        return self.entries.compactMap { $0.key == key ? $0.value : nil }
    }

    /// The first string value of `key`, or nil. Assigning replaces every value.
    public subscript(_ key: String) -> String? {
        get {
            for value in self.values(key) {
                if case .string(let string) = value { return string }
            }
            return nil
        }
        set {
            self.remove(key)
            if let newValue { self.add(key, newValue) }
        }
    }

    /// The first binary value of `key`, or nil.
    public func binary(_ key: String) -> [UInt8]? {
        for value in self.values(key) {
            if case .binary(let bytes) = value { return bytes }
        }
        return nil
    }

    /// Appends every entry of `other`, after these.
    public mutating func merge(_ other: Metadata) {
        self.entries.append(contentsOf: other.entries)
    }

    /// `[key: value, ...]`, binary values as their length.
    public var description: String {
        "[" + self.entries.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "]"
    }
}

extension Metadata {
    /// Whether a key is a valid metadata key: `0-9 a-z - _ .`, not starting with `:`,
    /// and not one gRPC reserves for itself.
    static func isValidKey(_ key: String) -> Bool {
        guard !key.isEmpty else { return false }
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                continue
            default:
                return false
            }
        }
        return !Self.isReserved(key)
    }

    /// Headers that carry the protocol itself and never appear as custom metadata.
    /// Dispatches on the length first: every received header is checked, and most
    /// comparisons end there.
    static func isReserved(_ key: String) -> Bool {
        let utf8 = key.utf8
        if utf8.first == UInt8(ascii: ":") { return true }
        switch utf8.count {
        case 2: return key == "te"
        case 4: return key == "host"
        case 7: return key == "upgrade"
        case 10: return key == "connection" || key == "keep-alive"
        case 11: return key == "grpc-status"
        case 12: return key == "content-type" || key == "grpc-timeout" || key == "grpc-message"
        case 13: return key == "grpc-encoding"
        case 14: return key == "content-length"
        case 16: return key == "proxy-connection"
        case 17: return key == "transfer-encoding"
        case 20: return key == "grpc-accept-encoding"
        case 23: return key == "grpc-status-details-bin"
        default: return false
        }
    }

    static func isValidASCIIValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
    }
}
