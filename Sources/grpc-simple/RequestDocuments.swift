import Foundation
import GRPCSimple
import GRPCSimpleDynamic

/// The request documents of a call, from `-d`: inline JSON, `@file`, or `@-` for standard
/// input, where each document is handed on as soon as it is complete (so the requests of a
/// streaming call go out as they are typed or piped in).
enum RequestDocuments {
    /// The documents `data` gives, in order, as raw JSON bytes.
    static func stream(_ data: String) -> AsyncThrowingStream<[UInt8], any Error> {
        if data == "@-" { return Self.standardInput() }
        return AsyncThrowingStream { continuation in
            let bytes: [UInt8]
            if data.hasPrefix("@") {
                let path = String(data.dropFirst())
                guard let contents = FileManager.default.contents(atPath: path) else {
                    continuation.finish(throwing: RPCError(.invalidArgument, "cannot read the request file \(path)"))
                    return
                }
                bytes = Array(contents)
            } else {
                bytes = Array(data.utf8)
            }
            var splitter = JSONDocumentSplitter()
            for document in splitter.append(bytes) { continuation.yield(document) }
            if let last = splitter.finish() { continuation.yield(last) }
            continuation.finish()
        }
    }

    /// Standard input, read on a thread of its own (a read blocks; the concurrency pool's
    /// threads must not), cut into documents as bytes arrive.
    private static func standardInput() -> AsyncThrowingStream<[UInt8], any Error> {
        AsyncThrowingStream { continuation in
            let thread = Thread {
                var splitter = JSONDocumentSplitter()
                var buffer = [UInt8](repeating: 0, count: 64 * 1024)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                    if count < 0, errno == EINTR { continue }
                    if count < 0 {
                        continuation.finish(
                            throwing: RPCError(.invalidArgument, "cannot read standard input (errno \(errno))"))
                        return
                    }
                    if count == 0 { break }
                    for document in splitter.append(buffer[..<count]) { continuation.yield(document) }
                }
                if let last = splitter.finish() { continuation.yield(last) }
                continuation.finish()
            }
            thread.start()
        }
    }
}
