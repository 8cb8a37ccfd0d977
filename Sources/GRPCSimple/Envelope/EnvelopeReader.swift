import NIOCore

/// Takes envelopes (see `Envelope`) apart: reassembles messages from the bytes of DATA
/// frames, and inflates compressed ones.
///
/// A message may span frames and a frame may carry several messages. When a frame holds
/// whole messages they are sliced out of it without copying; only a message split across
/// frames is accumulated. The length prefix is checked against the limit before any
/// memory is set aside for it.
struct EnvelopeReader {
    /// Why the bytes received cannot be turned into messages.
    enum Failure: Error, Equatable {
        case messageTooLarge(length: Int, limit: Int)
        case compressedWithoutEncoding
        case invalidFlags(UInt8)
        case decompressedTooLarge(encoding: String, limit: Int)
        case corruptCompressedMessage(encoding: String)

        var status: Status {
            switch self {
            case .messageTooLarge(let length, let limit):
                Status(
                    code: .resourceExhausted,
                    message: "received message larger than max (\(length) vs. \(limit) bytes)"
                )
            case .compressedWithoutEncoding:
                Status(
                    code: .internal,
                    message: "a message has the compressed flag set but the call has no grpc-encoding"
                )
            case .invalidFlags(let flags):
                Status(code: .internal, message: "invalid message flags 0x\(String(flags, radix: 16))")
            case .decompressedTooLarge(let encoding, let limit):
                Status(
                    code: .resourceExhausted,
                    message: "a \(encoding)-compressed message inflates past the max of \(limit) bytes"
                )
            case .corruptCompressedMessage(let encoding):
                Status(code: .internal, message: "a message is not valid \(encoding) data")
            }
        }
    }

    let maximumMessageSize: Int
    /// The call's `grpc-encoding`: how messages with the compressed flag are compressed.
    var encoding = CompressionAlgorithm.identity
    private var buffer: ByteBuffer?

    init(maximumMessageSize: Int) {
        self.maximumMessageSize = maximumMessageSize
    }

    /// Bytes received but not yet part of a complete message.
    var bufferedBytes: Int { self.buffer?.readableBytes ?? 0 }

    /// The capacity of the buffer the bytes are kept in (what the peer makes the server hold).
    var bufferedCapacity: Int { self.buffer?.capacity ?? 0 }

    mutating func append(_ data: ByteBuffer) {
        guard var existing = self.buffer, existing.readableBytes > 0 else {
            self.buffer = data
            return
        }
        self.buffer = nil  // keep the storage uniquely referenced while appending
        let total = existing.readableBytes + data.readableBytes
        if existing.writableBytes < data.readableBytes, let announced = self.announcedEnvelopeLength(in: existing),
            total * Self.reservationRatio >= announced
        {
            // A message split across frames: set aside its whole length at once, so that
            // its bytes are copied once rather than again at every doubling. Only once a
            // sixteenth of it is here, so that a prefix that lies costs the peer a sixteenth
            // of what it makes the server hold, and never past the limit (a longer prefix is
            // refused by `next`).
            var reserved = ByteBufferAllocator().buffer(capacity: max(total, announced))
            reserved.writeImmutableBuffer(existing)
            existing = reserved
        }
        existing.writeImmutableBuffer(data)
        self.buffer = existing
    }

    /// A message's whole length is reserved once this fraction of it (1/16) has arrived.
    static let reservationRatio = 16

    /// The length, prefix included, of the envelope that starts `buffer`, when its prefix is
    /// there and the length is within the limit.
    private func announcedEnvelopeLength(in buffer: ByteBuffer) -> Int? {
        guard let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self),
            Int(length) <= self.maximumMessageSize
        else { return nil }
        return Envelope.prefixLength + Int(length)
    }

    /// The next complete message's payload, or nil if more bytes are needed.
    mutating func next() throws(Failure) -> ByteBuffer? {
        guard var buffer = self.buffer, buffer.readableBytes >= Envelope.prefixLength else {
            return nil
        }
        let start = buffer.readerIndex
        let flags = buffer.getInteger(at: start, as: UInt8.self)!
        let length = Int(buffer.getInteger(at: start + 1, as: UInt32.self)!)
        switch Envelope.Flags(rawValue: flags) {
        case []: break
        case .compressed where self.encoding == .identity: throw .compressedWithoutEncoding
        case .compressed: break
        default: throw .invalidFlags(flags)
        }
        if length > self.maximumMessageSize {
            throw .messageTooLarge(length: length, limit: self.maximumMessageSize)
        }
        guard buffer.readableBytes >= Envelope.prefixLength + length else {
            return nil
        }
        self.buffer = nil
        buffer.moveReaderIndex(forwardBy: Envelope.prefixLength)
        let message = buffer.readSlice(length: length)!
        if buffer.readableBytes > 0 {
            self.buffer = buffer
        }
        guard flags == Envelope.Flags.compressed.rawValue else { return message }
        do {
            return try self.encoding.decompress(message, limit: self.maximumMessageSize)
        } catch .tooLarge {
            throw .decompressedTooLarge(encoding: self.encoding.name, limit: self.maximumMessageSize)
        } catch {
            throw .corruptCompressedMessage(encoding: self.encoding.name)
        }
    }
}
