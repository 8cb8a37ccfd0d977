/// One stream of the table: its two halves and its windows. A plain value (no references), so
/// the table moves entries without reference counting; DATA waiting for window lives beside the
/// table (`HTTP2ServerConnection`), for the few streams that have any.
///
/// The RFC 9113 §5.1 state is derived: open (neither half closed), half-closed (remote)
/// (`remoteClosed`, local not closed), half-closed (local), closed (both: the stream leaves the
/// table). Idle streams are never in the table: a client stream ID above the highest one seen is
/// idle, a lower one absent from the table is closed.
public struct StreamEntry: Sendable {
    /// The stream identifier (odd: opened by the client).
    public var id: UInt32
    /// The client sent END_STREAM.
    public var remoteClosed: Bool
    /// What we have sent on the stream.
    public var local: LocalStreamState
    /// How much DATA we may still send (§6.9; may go negative after a SETTINGS change).
    public var sendWindow: Int
    /// How much DATA the client may still send us.
    public var receiveWindow: Int
    /// DATA received since our last WINDOW_UPDATE for this stream.
    public var receivedSinceUpdate: Int
    /// Response DATA waits for window (in `ServerConnection`'s pending output).
    public var hasPendingOutput: Bool
    /// A value the application attaches to the stream (its route, say); 0 by default.
    public var tag: UInt8
    /// DATA bytes still expected when the request announced a `content-length`; -1 without one.
    public var remainingContentLength: Int

    static var empty: StreamEntry { StreamEntry(id: 0, remoteClosed: false, sendWindow: 0, receiveWindow: 0) }

    /// A new stream: the client's half open or (`remoteClosed`) already ended, ours idle.
    public init(id: UInt32, remoteClosed: Bool, sendWindow: Int, receiveWindow: Int) {
        self.id = id
        self.remoteClosed = remoteClosed
        self.local = .idle
        self.sendWindow = sendWindow
        self.receiveWindow = receiveWindow
        self.receivedSinceUpdate = 0
        self.hasPendingOutput = false
        self.tag = 0
        self.remainingContentLength = -1
    }
}
