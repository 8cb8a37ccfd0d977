import NIOCore

/// Turns a request body into the envelopes every call reads, in each protocol: as it is for
/// gRPC, gRPC-Web and Connect streaming; from base64 for gRPC-Web text; and, for a Connect
/// unary call, whose body is the message itself, by holding the body and wrapping it in one
/// envelope when it ends.
struct RequestBodyDecoder: Sendable {
    private enum Mode: Sendable {
        case envelopes
        case base64(Base64StreamDecoder)
        case whole(ByteBuffer)
    }

    private var mode: Mode
    private let path: String
    private let maximumMessageSize: Int

    init(wireProtocol: WireProtocol, path: String, maximumMessageSize: Int) {
        switch wireProtocol {
        case .grpc, .grpcWeb, .connectStreaming: self.mode = .envelopes
        case .grpcWebText: self.mode = .base64(Base64StreamDecoder())
        case .connectUnary: self.mode = .whole(ByteBuffer())
        }
        self.path = path
        self.maximumMessageSize = maximumMessageSize
    }

    /// Whether the body is held until it ends (then it is read at once, so its flow-control
    /// window can come back as it arrives).
    var holdsWholeBody: Bool {
        if case .whole = self.mode { return true }
        return false
    }

    /// The envelope bytes in `data`: `data` itself, or decoded from base64. Nil while a whole
    /// body is held.
    mutating func receive(_ data: ByteBuffer) throws(RPCError) -> ByteBuffer? {
        switch self.mode {
        case .envelopes:
            return data
        case .base64(var decoder):
            do {
                let decoded = try decoder.decode(data)
                self.mode = .base64(decoder)
                return decoded
            } catch {
                throw RPCError(.invalidArgument, "\(error.message) of \(self.path)")
            }
        case .whole(var body):
            guard body.readableBytes + data.readableBytes <= self.maximumMessageSize else {
                throw RPCError(
                    .resourceExhausted,
                    "the request of \(self.path) is larger than the server's limit of \(self.maximumMessageSize) bytes")
            }
            self.mode = .envelopes  // so `body` is the buffer's only owner, and grows in place
            body.writeImmutableBuffer(data)
            self.mode = .whole(body)
            return nil
        }
    }

    /// The body ended: the envelope around a held body (flagged compressed unless
    /// `encoding` is identity), nil otherwise. Throws when base64 stopped mid-group.
    mutating func end(encoding: CompressionAlgorithm) throws(RPCError) -> ByteBuffer? {
        switch self.mode {
        case .envelopes:
            return nil
        case .base64(let decoder):
            guard decoder.isComplete else {
                throw RPCError(
                    .invalidArgument, "the base64 body of \(self.path) ends in the middle of a 4-character group")
            }
            return nil
        case .whole(let body):
            self.mode = .envelopes
            let flags: Envelope.Flags = encoding == .identity ? [] : .compressed
            return EnvelopeWriter.envelope(body, flags: flags, allocator: ByteBufferAllocator())
        }
    }
}
