import NIOCore

/// The receiving side of one call, on either end: reassembles messages from DATA frames,
/// queues them for the one reader, parks that reader when the queue is empty, and keeps
/// the stream's flow-control window in step with what the reader has taken.
///
/// Lives on the event loop, inside `ServerStream` or `ClientStream`.
struct InboundMessages {
    private var reader: EnvelopeReader
    private var flow: InboundFlowController
    private var queue = MessageQueue()
    private var waiter: Reader?
    private(set) var receivedCount = 0

    /// A parked reader: waiting for one message (a server handler), or for every message
    /// queued once one arrives (a client's response stream, which takes them in batches
    /// so that a hop to the event loop serves many messages).
    enum Reader {
        case one(CheckedContinuation<ByteBuffer?, any Error>)
        case all(CheckedContinuation<[ByteBuffer], any Error>)
    }

    init(maximumMessageSize: Int, windowSize: Int) {
        self.reader = EnvelopeReader(maximumMessageSize: maximumMessageSize)
        self.flow = InboundFlowController(targetWindow: windowSize, initialWindow: windowSize)
    }

    /// How the peer compresses the messages it flags as compressed (its `grpc-encoding`).
    var encoding: CompressionAlgorithm {
        get { self.reader.encoding }
        set { self.reader.encoding = newValue }
    }

    /// Bytes of a message whose end has not arrived yet.
    var partialBytes: Int { self.reader.bufferedBytes }

    /// The first queued message, without taking it.
    var first: ByteBuffer? { self.queue.first }

    /// How many complete messages wait for the reader.
    var queuedCount: Int { self.queue.count }

    /// Takes in a DATA frame's bytes: complete messages go to the waiting reader or the
    /// queue. Throws when the bytes cannot be messages (too large, bad flags).
    mutating func receive(_ data: ByteBuffer, flowControlledLength: Int) throws(EnvelopeReader.Failure) {
        self.flow.received(flowControlledLength)
        guard data.readableBytes > 0 else { return }
        self.reader.append(data)
        while let message = try self.reader.next() {
            self.receivedCount += 1
            if case .one(let waiter) = self.waiter {
                self.waiter = nil
                waiter.resume(returning: message)
            } else {
                self.flow.held(message.readableBytes + Envelope.prefixLength)
                self.queue.append(message)
            }
        }
        if case .all(let waiter) = self.waiter, self.queue.first != nil {
            self.waiter = nil
            waiter.resume(returning: self.takeAll())
        }
    }

    /// Takes the next queued message, if any.
    mutating func take() -> ByteBuffer? {
        guard let message = self.queue.popFirst() else { return nil }
        self.flow.released(message.readableBytes + Envelope.prefixLength)
        return message
    }

    /// Takes every queued message, oldest first.
    mutating func takeAll() -> [ByteBuffer] {
        var messages: [ByteBuffer] = []
        messages.reserveCapacity(self.queue.count)
        while let message = self.take() {
            messages.append(message)
        }
        return messages
    }

    /// Gives `reader` the next message; or, when none is queued, the end of the stream
    /// (`ended` is success) or its failure; or parks it until one of those comes (`ended`
    /// is nil: the stream is still open). Returns true when a message was taken, so the
    /// caller grants window.
    mutating func read(_ reader: Reader, ended: Result<Void, RPCError>?) -> Bool {
        switch reader {
        case .one(let continuation):
            if let message = self.take() {
                continuation.resume(returning: message)
                return true
            }
        case .all(let continuation):
            let messages = self.takeAll()
            if !messages.isEmpty {
                continuation.resume(returning: messages)
                return true
            }
        }
        guard let ended else {
            self.park(reader)
            return false
        }
        self.park(reader)
        self.wakeReader(with: ended)
        return false
    }

    /// Parks the reader until a message arrives or the call ends.
    mutating func park(_ reader: Reader) {
        precondition(self.waiter == nil, "two readers on one message stream")
        self.waiter = reader
    }

    /// Wakes a parked reader at the end of the stream (nil, or no messages), or with an error.
    mutating func wakeReader(with result: Result<Void, RPCError>) {
        guard let waiter = self.waiter else { return }
        self.waiter = nil
        switch (waiter, result) {
        case (.one(let waiter), .success): waiter.resume(returning: nil)
        case (.one(let waiter), .failure(let error)): waiter.resume(throwing: error)
        case (.all(let waiter), .success): waiter.resume(returning: [])
        case (.all(let waiter), .failure(let error)): waiter.resume(throwing: error)
        }
    }

    /// Starts over on a new HTTP/2 stream (a retry): a fresh reader and window, the parked
    /// reader kept. Only before any message arrived.
    mutating func restart() {
        self.reader = EnvelopeReader(maximumMessageSize: self.reader.maximumMessageSize)
        self.flow = InboundFlowController(targetWindow: self.flow.targetWindow, initialWindow: self.flow.targetWindow)
    }

    /// The WINDOW_UPDATE increment due now, if any.
    mutating func windowUpdate() -> Int? {
        self.flow.windowUpdate()
    }
}

/// A first-in first-out queue of messages that allocates nothing while it holds at most
/// one, which is all a unary call ever holds.
struct MessageQueue {
    private(set) var count = 0
    private var head: ByteBuffer?
    /// The messages after `head`, made when a second one is queued.
    private var tail: CircularBuffer<ByteBuffer>?

    var first: ByteBuffer? { self.head }

    mutating func append(_ message: ByteBuffer) {
        self.count += 1
        if self.head == nil {
            self.head = message
        } else if self.tail == nil {
            var tail = CircularBuffer<ByteBuffer>(initialCapacity: 4)
            tail.append(message)
            self.tail = tail
        } else {
            self.tail!.append(message)
        }
    }

    mutating func popFirst() -> ByteBuffer? {
        guard let head = self.head else { return nil }
        self.count -= 1
        self.head = self.tail?.popFirst()
        return head
    }
}
