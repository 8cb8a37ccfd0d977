import Logging
import Synchronization

/// What a handler knows about its call, and the metadata it sends back.
///
/// Set `initialMetadata` before the first response message and `trailingMetadata` any
/// time before the handler returns.
public final class ServerContext: Sendable {
    /// The method called, e.g. `AsillaService.Method.getInfor` (its `path` is
    /// `/AsillaService/getInfor`).
    public let method: MethodDescriptor
    /// When the client stops waiting, if it set a deadline.
    public let deadline: ContinuousClock.Instant?
    /// The client's address, e.g. `ipv4:127.0.0.1:52310`.
    public let peer: String
    /// How the client compresses the request messages it flags as compressed
    /// (its `grpc-encoding`; identity when it sent none).
    public let requestCompression: CompressionAlgorithm
    /// The client's verified certificate, when the server uses mutual TLS
    /// (`ServerTLSConfiguration.clientCertificates`) and the client presented one;
    /// nil for plaintext and for TLS without a client certificate.
    public let peerCertificate: PeerCertificate?
    /// The server's logger, before the call's metadata is added.
    private let serverLogger: Logger

    /// Written by interceptors and the handler (possibly from another executor), read by
    /// the connection.
    /// A `Mutex` is stored inline: no allocation of its own, unlike a lock box.
    private let state: Mutex<State>

    /// The metadata the client sent with its request headers (as server interceptors
    /// left it).
    public internal(set) var metadata: Metadata {
        get { self.state.withLock { $0.requestMetadata } }
        set { self.state.withLock { $0.requestMetadata = newValue } }
    }

    private struct State {
        var requestMetadata: Metadata
        var principal: String?
        var initialMetadata: Metadata = [:]
        var trailingMetadata: Metadata = [:]
        var compression = CompressionAlgorithm.identity
        /// Made on first use: a handler that does not log pays nothing for it.
        var logger: Logger?
    }

    init(
        method: MethodDescriptor,
        metadata: Metadata,
        deadline: ContinuousClock.Instant?,
        peer: String,
        requestCompression: CompressionAlgorithm = .identity,
        peerCertificate: PeerCertificate? = nil,
        logger: Logger = ServerContext.silentLogger
    ) {
        self.method = method
        self.state = Mutex(State(requestMetadata: metadata))
        self.deadline = deadline
        self.peer = peer
        self.requestCompression = requestCompression
        self.peerCertificate = peerCertificate
        self.serverLogger = logger
    }

    /// The logger of servers that were given none.
    static let silentLogger = Logger(label: "grpc-simple.server", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The server's logger (`Server.Configuration.logger`) with the call's metadata:
    /// `grpc.method` (`AsillaService/getInfor`), `grpc.peer` and, when the caller sent a
    /// W3C `traceparent`, its `trace_id`. Log through it and every line says which call
    /// it is about:
    ///
    /// ```swift
    /// context.logger.info("looking up", metadata: ["name": "\(request.name)"])
    /// ```
    public var logger: Logger {
        self.state.withLock { state in
            if let logger = state.logger { return logger }
            var logger = self.serverLogger
            logger[metadataKey: "grpc.method"] = "\(self.method.fullName)"
            logger[metadataKey: "grpc.peer"] = "\(self.peer)"
            if let traceparent = state.requestMetadata["traceparent"],
                let traceID = TraceParent.traceID(of: traceparent)
            {
                logger[metadataKey: "trace_id"] = "\(traceID)"
            }
            state.logger = logger
            return logger
        }
    }

    /// Who the caller is, as an authenticating interceptor established it (for example
    /// `BearerTokenAuthenticator`); nil when no interceptor did.
    public var principal: String? {
        get { self.state.withLock { $0.principal } }
        set { self.state.withLock { $0.principal = newValue } }
    }

    /// Metadata sent with the response headers (before the first message).
    public var initialMetadata: Metadata {
        get { self.state.withLock { $0.initialMetadata } }
        set { self.state.withLock { $0.initialMetadata = newValue } }
    }

    /// Metadata sent with the status when the call ends.
    public var trailingMetadata: Metadata {
        get { self.state.withLock { $0.trailingMetadata } }
        set { self.state.withLock { $0.trailingMetadata = newValue } }
    }

    /// How response messages are compressed; set it before the first response message.
    /// The client's `grpc-accept-encoding` says what it reads; gRPC Simple clients read
    /// gzip and deflate. Single messages can still go uncompressed
    /// (`ResponseWriter.write(_:compress:)`).
    public var responseCompression: CompressionAlgorithm {
        get { self.state.withLock { $0.compression } }
        set { self.state.withLock { $0.compression = newValue } }
    }

    /// Tells the client when it may retry this call if it fails (gRFC A6's server
    /// pushback, the `grpc-retry-pushback-ms` trailer): after `delay` instead of its own
    /// backoff, or, with nil, not at all. Only clients with a retry policy listen.
    public func setRetryPushback(after delay: Duration?) {
        var trailers = self.trailingMetadata
        trailers.remove("grpc-retry-pushback-ms")
        let milliseconds = delay.map { max(0, $0.clampedNanoseconds / 1_000_000) } ?? -1
        trailers.add("grpc-retry-pushback-ms", String(milliseconds))
        self.trailingMetadata = trailers
    }

    /// Whether the call has been cancelled (by the client, its deadline, or shutdown).
    public var isCancelled: Bool { Task.isCancelled }

    /// Time left until the deadline, if there is one.
    public var timeRemaining: Duration? {
        self.deadline.map { ContinuousClock.now.duration(to: $0) }
    }
}
