import CompressNIO
import NIOCore

/// A message compression algorithm (grpc/grpc `doc/compression.md`): `identity` (none),
/// `gzip` or `deflate` (zlib's format, as HTTP's `deflate` content coding).
///
/// A client picks one per call (`CallOptions.compression`); a server answers in the one its
/// handler picks (`ServerContext.responseCompression`). Either side may send single messages
/// uncompressed. Both always accept all three.
public struct CompressionAlgorithm: Hashable, Sendable, CustomStringConvertible {
    /// The name in `grpc-encoding` and `grpc-accept-encoding`.
    public let name: String

    private init(name: String) {
        self.name = name
    }

    /// No compression.
    public static let identity = CompressionAlgorithm(name: "identity")
    /// gzip (RFC 1952).
    public static let gzip = CompressionAlgorithm(name: "gzip")
    /// deflate in zlib's format (RFC 1950).
    public static let deflate = CompressionAlgorithm(name: "deflate")

    /// Every algorithm this library reads and writes.
    public static let supported: [CompressionAlgorithm] = [.gzip, .deflate, .identity]

    /// The `grpc-accept-encoding` value we send.
    static let acceptEncoding = supported.map(\.name).joined(separator: ",")

    /// The algorithm named by a `grpc-encoding` value, if we support it.
    init?(encodingName: String) {
        switch encodingName {
        case "identity": self = .identity
        case "gzip": self = .gzip
        case "deflate": self = .deflate
        default: return nil
        }
    }

    /// The `grpc-encoding` name.
    public var description: String { self.name }

    /// The supported algorithms a `grpc-accept-encoding` value names (identity always).
    static func parseAcceptEncoding(_ value: String) -> Set<CompressionAlgorithm> {
        var accepted: Set<CompressionAlgorithm> = [.identity]
        for name in value.split(separator: ",") {
            let trimmed = name.trimmingSpaces
            if let known = CompressionAlgorithm(encodingName: String(trimmed)) { accepted.insert(known) }
        }
        return accepted
    }

    private var zlibAlgorithm: CompressNIO.CompressionAlgorithm? {
        switch self.name {
        case "gzip": .gzip()
        case "deflate": .zlib()
        default: nil
        }
    }

    /// Compresses one message's payload.
    func compress(_ payload: ByteBuffer, allocator: ByteBufferAllocator) throws(RPCError) -> ByteBuffer {
        guard let zlib = self.zlibAlgorithm else {
            preconditionFailure("identity does not compress")
        }
        var input = payload
        do {
            return try input.compress(with: zlib, allocator: allocator)
        } catch {
            throw RPCError(.internal, "\(self.name) compression failed: \(error)")
        }
    }

    /// Why a compressed message could not be read.
    enum DecompressionFailure: Error, Equatable {
        case tooLarge
        case corrupt
    }

    /// Inflates one message, stopping as soon as it grows past `limit` bytes: a message
    /// that inflates without end is never held in full.
    func decompress(_ payload: ByteBuffer, limit: Int) throws(DecompressionFailure) -> ByteBuffer {
        guard let zlib = self.zlibAlgorithm else { return payload }
        var input = payload
        do {
            let output = try input.decompress(with: zlib, maxSize: limit + 1)
            guard output.readableBytes <= limit else { throw DecompressionFailure.tooLarge }
            return output
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw .tooLarge
        } catch DecompressionFailure.tooLarge {
            throw .tooLarge
        } catch {
            throw .corrupt
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
