import Foundation

/// Standard output and standard error, unbuffered: each response is written in full as it
/// arrives (so a bidirectional call works interactively, and a pipe sees it at once).
enum Output {
    static func line(_ text: String) {
        Self.write(text + "\n", to: STDOUT_FILENO)
    }

    static func error(_ text: String) {
        Self.write(text + "\n", to: STDERR_FILENO)
    }

    /// All of `text`, through `write(2)`. A reader that went away (`grpc-simple list | head -1`)
    /// ends the command as it ends other Unix tools: by SIGPIPE, which NIO leaves ignored.
    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if written > 0 {
                bytes = bytes.dropFirst(written)
            } else if written < 0, errno == EINTR {
                continue
            } else if written < 0, errno == EPIPE {
                signal(SIGPIPE, SIG_DFL)
                kill(getpid(), SIGPIPE)
                return
            } else {
                return  // nothing more can be written there
            }
        }
    }
}
