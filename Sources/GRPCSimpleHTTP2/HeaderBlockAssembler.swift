import NIOCore

/// CONTINUATION sequencing (RFC 9113 §6.10): a HEADERS frame without END_HEADERS must be
/// followed by CONTINUATION frames of the same stream, and nothing else, until END_HEADERS.
///
/// The common case (END_HEADERS on the HEADERS frame) never touches this type. Otherwise the
/// fragments are copied into one buffer, bounded by `maxBlockSize` encoded bytes and
/// `maxContinuations` frames (a flood of empty CONTINUATIONs costs no memory but unbounded CPU).
public struct HeaderBlockAssembler: Sendable {
    /// The header block in progress: its stream and the flags of its HEADERS frame.
    public struct Pending: Sendable {
        /// The stream the block belongs to.
        public var streamID: UInt32
        /// The HEADERS frame had END_STREAM.
        public var endStream: Bool
        /// The HEADERS frame's stream dependency, when it had the PRIORITY flag.
        public var dependency: UInt32?
        /// The fragments so far, in order.
        public var block: ByteBuffer
        /// CONTINUATION frames so far.
        public var continuations: Int
    }

    /// The block being assembled, if any.
    public private(set) var pending: Pending?
    /// The most encoded bytes a block may have.
    public let maxBlockSize: Int
    /// The most CONTINUATION frames a block may have.
    public let maxContinuations: Int

    /// An assembler with these bounds.
    public init(maxBlockSize: Int, maxContinuations: Int = 5) {
        self.maxBlockSize = maxBlockSize
        self.maxContinuations = maxContinuations
    }

    /// Whether a header block is open: only its CONTINUATIONs may come next.
    public var isAssembling: Bool { self.pending != nil }

    /// Starts a block from a HEADERS frame without END_HEADERS.
    public mutating func begin(
        streamID: UInt32,
        fragment: ByteBuffer,
        endStream: Bool,
        dependency: UInt32?
    ) throws(HTTP2ConnectionError) {
        guard fragment.readableBytes <= self.maxBlockSize else {
            throw HTTP2ConnectionError(.enhanceYourCalm, "header block larger than the header list limit")
        }
        var block = ByteBuffer()
        block.writeImmutableBuffer(fragment)
        self.pending = Pending(
            streamID: streamID, endStream: endStream, dependency: dependency, block: block, continuations: 0)
    }

    /// Adds a CONTINUATION fragment; returns the finished block at END_HEADERS.
    public mutating func append(
        streamID: UInt32,
        fragment: ByteBuffer,
        endHeaders: Bool
    ) throws(HTTP2ConnectionError) -> Pending? {
        guard var pending = self.pending else {
            throw HTTP2ConnectionError(.protocolError, "CONTINUATION without a HEADERS frame")
        }
        guard pending.streamID == streamID else {
            throw HTTP2ConnectionError(.protocolError, "CONTINUATION on another stream")
        }
        pending.continuations += 1
        guard pending.continuations <= self.maxContinuations else {
            throw HTTP2ConnectionError(.enhanceYourCalm, "too many CONTINUATION frames")
        }
        guard pending.block.readableBytes + fragment.readableBytes <= self.maxBlockSize else {
            throw HTTP2ConnectionError(.enhanceYourCalm, "header block larger than the header list limit")
        }
        self.pending = nil  // keeps `pending.block` uniquely referenced while it grows
        pending.block.writeImmutableBuffer(fragment)
        if endHeaders {
            return pending
        }
        self.pending = pending
        return nil
    }
}
