// Fuzzes the message deframer, `EnvelopeReader`, with each compression.
//
// Input: byte 0 picks the call's grpc-encoding (identity, gzip, deflate) and byte 1 the
// maximum message size; bytes 2-3 seed how the rest, the bytes of DATA frames, is split into
// chunks. Checked for every input: no crash; the same messages (or the same error) whether
// the bytes come in one piece or in chunks; no message past the limit; and every message
// read, enveloped again by `EnvelopeWriter` (compressed when the call compresses), reads back
// the same.
import FuzzSupport
import NIOCore

@testable import GRPCSimple

private let encodings: [CompressionAlgorithm] = [.identity, .gzip, .deflate]
private let limits = [0, 5, 1024, 65536]

/// What a reader makes of a stream of chunks: the messages, then the error that ended it.
private struct Outcome: Equatable {
    var messages: [ByteBuffer] = []
    var failure: EnvelopeReader.Failure?
}

private func read(_ pieces: [ArraySlice<UInt8>], encoding: CompressionAlgorithm, limit: Int) -> Outcome {
    var reader = EnvelopeReader(maximumMessageSize: limit)
    reader.encoding = encoding
    var outcome = Outcome()
    for piece in pieces {
        reader.append(ByteBuffer(fuzzBytes: piece))
        do {
            while let message = try reader.next() {
                outcome.messages.append(message)
            }
        } catch {
            outcome.failure = error
            return outcome
        }
    }
    return outcome
}

/// One input (`count` bytes at `start`): libFuzzer's `LLVMFuzzerTestOneInput`. Returns 0; a
/// broken invariant stops the process.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let encoding = encodings[Int(input.byte()) % encodings.count]
    let limit = limits[Int(input.byte()) % limits.count]
    let seed = input.uint16()
    let data = input.rest()

    let whole = read([data], encoding: encoding, limit: limit)
    let chunked = read(chunks(of: data, seed: seed), encoding: encoding, limit: limit)
    fuzzCheck(whole == chunked, "chunking changed the outcome: \(whole) vs \(chunked)")

    for message in whole.messages {
        fuzzCheck(
            message.readableBytes <= limit, "a message of \(message.readableBytes) bytes passed the limit \(limit)")
        var envelope = EnvelopeWriter.envelope(message, allocator: ByteBufferAllocator())
        if encoding != .identity {
            envelope = try! EnvelopeWriter.compress(envelope, with: encoding, allocator: ByteBufferAllocator())
        }
        let again = read([ArraySlice(envelope.readableBytesView)], encoding: encoding, limit: limit)
        // Compression may grow a message past the limit (its prefix is checked first).
        if again.failure == .messageTooLarge(length: envelope.readableBytes - 5, limit: limit) { continue }
        fuzzCheck(again == Outcome(messages: [message]), "a message did not read back: \(again)")
    }
    return 0
}
