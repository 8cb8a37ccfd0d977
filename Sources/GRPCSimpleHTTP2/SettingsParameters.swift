import NIOCore

/// The parameters of a SETTINGS frame: (identifier, value) pairs read straight from the payload.
public struct SettingsParameters: Sequence, Sendable {
    /// SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table our encoder may use.
    public static let headerTableSize: UInt16 = 0x1
    /// SETTINGS_ENABLE_PUSH: 0 or 1 (a server never pushes).
    public static let enablePush: UInt16 = 0x2
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    public static let maxConcurrentStreams: UInt16 = 0x3
    /// SETTINGS_INITIAL_WINDOW_SIZE: at most 2^31-1.
    public static let initialWindowSize: UInt16 = 0x4
    /// SETTINGS_MAX_FRAME_SIZE: 2^14 to 2^24-1.
    public static let maxFrameSize: UInt16 = 0x5
    /// SETTINGS_MAX_HEADER_LIST_SIZE (advisory).
    public static let maxHeaderListSize: UInt16 = 0x6

    private let bytes: ByteBuffer

    init(_ bytes: ByteBuffer) {
        self.bytes = bytes
    }

    /// Reads one 6-byte parameter at a time; a SETTINGS payload is checked to be a multiple of 6.
    public struct Iterator: IteratorProtocol {
        var bytes: ByteBuffer

        /// The next (identifier, value) pair.
        public mutating func next() -> (identifier: UInt16, value: UInt32)? {
            guard let identifier = self.bytes.readInteger(as: UInt16.self),
                let value = self.bytes.readInteger(as: UInt32.self)
            else { return nil }
            return (identifier, value)
        }
    }

    /// Iterates over the parameters in the order they were sent.
    public func makeIterator() -> Iterator { Iterator(bytes: self.bytes) }
}
