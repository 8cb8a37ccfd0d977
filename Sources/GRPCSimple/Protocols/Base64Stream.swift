import NIOCore

/// Base64 for the bodies of gRPC-Web text calls (`application/grpc-web-text`), both ways,
/// a piece at a time.
///
/// A body arrives in pieces that need not end on a four-character boundary, and a client
/// may send several independently padded base64 chunks one after the other
/// (grpc/grpc `doc/PROTOCOL-WEB.md`): the decoder keeps the partial quantum between pieces
/// and decodes each four characters on their own, padding included.
struct Base64StreamDecoder: Sendable {
    /// Characters of a quantum not yet complete (at most three).
    private var pending: [UInt8] = []
    /// How many characters were decoded in all, for the position in an error.
    private var offset = 0

    /// Why a body is not base64.
    struct Failure: Error, Sendable {
        var message: String
    }

    /// The bytes `text` completes; characters of an unfinished quantum wait for the next piece.
    mutating func decode(_ text: ByteBuffer) throws(Failure) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity((self.pending.count + text.readableBytes) / 4 * 3)
        var quantum = self.pending
        quantum.reserveCapacity(4)
        for character in text.readableBytesView {
            // Line breaks and spaces may separate chunks; they carry nothing.
            if character == UInt8(ascii: "\r") || character == UInt8(ascii: "\n") || character == UInt8(ascii: " ") {
                self.offset += 1
                continue
            }
            quantum.append(character)
            if quantum.count == 4 {
                try self.decodeQuantum(quantum, into: &out)
                self.offset += 4
                quantum.removeAll(keepingCapacity: true)
            }
        }
        self.pending = quantum
        return out
    }

    /// Whether the body ended on a quantum's boundary, as base64 must.
    var isComplete: Bool { self.pending.isEmpty }

    private func decodeQuantum(_ quantum: [UInt8], into out: inout ByteBuffer) throws(Failure) {
        let padding = quantum[3] == UInt8(ascii: "=") ? (quantum[2] == UInt8(ascii: "=") ? 2 : 1) : 0
        var bits: UInt32 = 0
        for index in 0..<(4 - padding) {
            let value = Base64.decodeTable[Int(quantum[index])]
            guard value != 0xFF else {
                throw Failure(
                    message: "the body is not base64: byte \(quantum[index]) at offset \(self.offset + index)")
            }
            bits = bits << 6 | UInt32(value)
        }
        bits <<= UInt32(6 * padding)
        out.writeInteger(UInt8(bits >> 16 & 0xFF))
        if padding < 2 { out.writeInteger(UInt8(bits >> 8 & 0xFF)) }
        if padding < 1 { out.writeInteger(UInt8(bits & 0xFF)) }
    }
}

extension Base64 {
    /// `bytes` in padded base64, as gRPC-Web text responses carry each chunk.
    static func encodePadded(_ bytes: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let count = bytes.readableBytes
        var out = allocator.buffer(capacity: (count + 2) / 3 * 4)
        bytes.withUnsafeReadableBytes { input in
            var index = 0
            while index + 3 <= count {
                let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
                out.writeInteger(Base64.alphabet[Int(chunk >> 18 & 63)])
                out.writeInteger(Base64.alphabet[Int(chunk >> 12 & 63)])
                out.writeInteger(Base64.alphabet[Int(chunk >> 6 & 63)])
                out.writeInteger(Base64.alphabet[Int(chunk & 63)])
                index += 3
            }
            let rest = count - index
            guard rest > 0 else { return }
            var chunk = UInt32(input[index]) << 16
            if rest == 2 { chunk |= UInt32(input[index + 1]) << 8 }
            out.writeInteger(Base64.alphabet[Int(chunk >> 18 & 63)])
            out.writeInteger(Base64.alphabet[Int(chunk >> 12 & 63)])
            out.writeInteger(rest == 2 ? Base64.alphabet[Int(chunk >> 6 & 63)] : UInt8(ascii: "="))
            out.writeInteger(UInt8(ascii: "="))
        }
        return out
    }
}
