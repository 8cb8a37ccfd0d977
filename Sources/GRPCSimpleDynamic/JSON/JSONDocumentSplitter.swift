/// Cuts a stream of concatenated JSON documents (`{...} {...}`, one per line or not) into
/// documents as their bytes arrive, so each request of a streaming call can be sent as soon as
/// it is complete. It only finds where documents end (strings, escapes and nesting); the
/// parser checks each one.
package struct JSONDocumentSplitter: Sendable {
    private var pending: [UInt8] = []
    /// How far `pending` has been scanned.
    private var scanned = 0
    /// Where the document being scanned starts in `pending`, once its first byte is seen.
    private var start: Int?
    private var depth = 0
    private var inString = false
    private var escaped = false

    /// An empty splitter.
    package init() {}

    /// Takes more bytes and returns the documents they complete, in order.
    package mutating func append(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        self.pending.append(contentsOf: bytes)
        var documents: [[UInt8]] = []
        while self.scanned < self.pending.count {
            let byte = self.pending[self.scanned]
            if let start = self.start {
                if self.inString {
                    if self.escaped {
                        self.escaped = false
                    } else if byte == UInt8(ascii: "\\") {
                        self.escaped = true
                    } else if byte == UInt8(ascii: "\"") {
                        self.inString = false
                        if self.depth == 0 {
                            documents.append(self.take(from: start, through: self.scanned))
                            continue
                        }
                    }
                } else if self.depth == 0 {
                    // A top-level number or literal ends at whitespace or at the next document.
                    if JSONParser.isWhitespace(byte) || Self.opensDocument(byte) {
                        documents.append(self.take(from: start, through: self.scanned - 1))
                        continue  // rescan this byte as the start of what follows
                    }
                } else {
                    switch byte {
                    case UInt8(ascii: "\""): self.inString = true
                    case UInt8(ascii: "{"), UInt8(ascii: "["): self.depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        self.depth -= 1
                        if self.depth == 0 {
                            documents.append(self.take(from: start, through: self.scanned))
                            continue
                        }
                    default: break
                    }
                }
            } else if !JSONParser.isWhitespace(byte) {
                self.start = self.scanned
                switch byte {
                case UInt8(ascii: "{"), UInt8(ascii: "["): self.depth = 1
                case UInt8(ascii: "\""): self.inString = true
                default: break
                }
            }
            self.scanned += 1
        }
        return documents
    }

    /// At the end of the input: the last document if one is still open (a number, or a
    /// truncated document, which the parser then refuses with its reason).
    package mutating func finish() -> [UInt8]? {
        guard let start = self.start else { return nil }
        let rest = Array(self.pending[start...])
        self = JSONDocumentSplitter()
        return rest
    }

    private static func opensDocument(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "\"")
    }

    /// Removes the document `pending[start...end]` and everything before it; scanning goes
    /// on from the byte after it.
    private mutating func take(from start: Int, through end: Int) -> [UInt8] {
        let document = Array(self.pending[start...end])
        self.pending.removeSubrange(0...end)
        self.scanned = 0
        self.start = nil
        self.depth = 0
        self.inString = false
        self.escaped = false
        return document
    }
}
