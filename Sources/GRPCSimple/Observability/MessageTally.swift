import Tracing

/// One call's messages as observability counts them, on either side: the bytes sent
/// (compressed, without the 5-byte prefix) and received, and, when a span is given, an
/// OpenTelemetry `message` event per message.
struct MessageTally {
    /// Bytes of the messages sent since the count began (or was reset for a new attempt).
    private(set) var sentBytes = 0
    private var sentMessages = 0
    /// Bytes of DATA received: messages with their prefixes.
    private var receivedDataBytes = 0
    private var receivedMessages = 0

    /// Bytes of the messages received, without their prefixes.
    var receivedBytes: Int { max(0, self.receivedDataBytes - self.receivedMessages * Envelope.prefixLength) }

    /// A message went out, `bytes` long after compression, with its prefix; `span` gets its
    /// event.
    mutating func sent(envelopeBytes bytes: Int, eventsOn span: (any Span)?) {
        self.sentBytes += bytes - Envelope.prefixLength
        self.sentMessages += 1
        span?.addEvent(
            SpanEvent(
                name: "message",
                attributes: [
                    "rpc.message.type": "SENT", "rpc.message.id": .int64(Int64(self.sentMessages)),
                    "rpc.message.compressed_size": .int64(Int64(bytes - Envelope.prefixLength)),
                ]
            ))
    }

    /// A DATA frame arrived; `messages` is how many complete messages the call has received
    /// so far. `span` gets an event for each new one.
    mutating func received(dataBytes: Int, messages: Int, eventsOn span: (any Span)?) {
        self.receivedDataBytes += dataBytes
        if let span, messages > self.receivedMessages {
            for id in (self.receivedMessages + 1)...messages {
                span.addEvent(
                    SpanEvent(
                        name: "message",
                        attributes: ["rpc.message.type": "RECEIVED", "rpc.message.id": .int64(Int64(id))]
                    ))
            }
        }
        self.receivedMessages = messages
    }

    /// A new attempt starts: what it sends counts afresh.
    mutating func resetSentBytes() {
        self.sentBytes = 0
    }
}
