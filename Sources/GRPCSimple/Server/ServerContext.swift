import Synchronization

/// What a handler knows about its call, and the metadata it sends back.
///
/// Set `initialMetadata` before the first response message and `trailingMetadata` any
/// time before the handler returns.
public final class ServerContext: Sendable {
    /// The full method path, e.g. `/AsillaService/getInfor`.
    public let path: String
    /// The metadata the client sent with its request headers.
    public let metadata: Metadata
    /// When the client stops waiting, if it set a deadline.
    public let deadline: ContinuousClock.Instant?
    /// The client's address, e.g. `ipv4:127.0.0.1:52310`.
    public let peer: String

    /// Written by the handler (possibly from another executor), read by the connection.
    /// A `Mutex` is stored inline: no allocation of its own, unlike a lock box.
    private let responseMetadata = Mutex<(initial: Metadata, trailing: Metadata)>(([:], [:]))

    init(path: String, metadata: Metadata, deadline: ContinuousClock.Instant?, peer: String) {
        self.path = path
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
    }

    /// Metadata sent with the response headers (before the first message).
    public var initialMetadata: Metadata {
        get { self.responseMetadata.withLock { $0.initial } }
        set { self.responseMetadata.withLock { $0.initial = newValue } }
    }

    /// Metadata sent with the status when the call ends.
    public var trailingMetadata: Metadata {
        get { self.responseMetadata.withLock { $0.trailing } }
        set { self.responseMetadata.withLock { $0.trailing = newValue } }
    }

    /// Whether the call has been cancelled (by the client, its deadline, or shutdown).
    public var isCancelled: Bool { Task.isCancelled }

    /// Time left until the deadline, if there is one.
    public var timeRemaining: Duration? {
        self.deadline.map { ContinuousClock.now.duration(to: $0) }
    }
}
