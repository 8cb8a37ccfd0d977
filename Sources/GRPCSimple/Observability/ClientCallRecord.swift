import Logging
import NIOCore
import Tracing

/// What the channel records about one call while it runs: kept in its `ClientStream` (on
/// the event loop), ended once, with the call's outcome.
struct ClientCallRecord {
    private let observer: ClientObserver
    private let method: MethodDescriptor
    private let metrics: MethodMetrics?
    /// The call's span, when tracing is on.
    let span: (any Span)?
    private let callStartedAt = ContinuousClock.now
    /// When the current attempt was handed to the channel's core (to pick a connection);
    /// nil between attempts.
    private var attemptStartedAt: ContinuousClock.Instant?
    /// What it sent and received.
    private var messages = MessageTally()
    private var isEnded = false

    init(observer: ClientObserver, method: MethodDescriptor, metrics: MethodMetrics?, span: (any Span)?) {
        self.observer = observer
        self.method = method
        self.metrics = metrics
        self.span = span
    }

    /// The call goes to the channel's core to be placed on a connection: an attempt starts
    /// (the first, or a retry).
    mutating func attemptStarted() {
        guard !self.isEnded, self.attemptStartedAt == nil else { return }
        self.attemptStartedAt = .now
        self.messages.resetSentBytes()
        self.metrics?.started.increment(by: 1)
    }

    /// The current attempt failed with `code` and the call starts again: records the
    /// attempt's duration and sizes.
    mutating func attemptEnded(_ code: StatusCode) {
        guard let startedAt = self.attemptStartedAt, let metrics = self.metrics else {
            self.attemptStartedAt = nil
            return
        }
        self.attemptStartedAt = nil
        let ended = metrics.ended(code)
        ended.duration.recordNanoseconds(startedAt.duration(to: .now).clampedNanoseconds)
        ended.sentSize.record(Int64(self.messages.sentBytes))
        ended.receivedSize.record(Int64(self.messages.receivedBytes))
    }

    /// The call has a stream on a connection to `peer`.
    func connected(to peer: SocketAddress?) {
        guard let span = self.span, let peer, let ip = peer.ipAddress else { return }
        span.updateAttributes { attributes in
            attributes["network.peer.address"] = ip
            if let port = peer.port { attributes["network.peer.port"] = port }
        }
    }

    /// A request message went out, `bytes` long after compression, with its prefix.
    mutating func sent(envelopeBytes bytes: Int) {
        self.messages.sent(envelopeBytes: bytes, eventsOn: self.observer.messageEvents ? self.span : nil)
    }

    /// A DATA frame of the response arrived; `messages` is how many complete messages the
    /// call has received so far.
    mutating func received(dataBytes: Int, messages: Int) {
        self.messages.received(
            dataBytes: dataBytes, messages: messages, eventsOn: self.observer.messageEvents ? self.span : nil)
    }

    /// The call ended with `code`: records its metrics, ends its span and writes its
    /// access log line. Only the first call counts.
    mutating func end(_ outcome: Result<Metadata, RPCError>) {
        guard !self.isEnded else { return }
        self.isEnded = true
        let now = ContinuousClock.now
        let code: StatusCode
        switch outcome {
        case .success: code = .ok
        case .failure(let error): code = error.code
        }
        let receivedBytes = self.messages.receivedBytes
        if let metrics = self.metrics {
            let ended = metrics.ended(code)
            if let attemptStartedAt = self.attemptStartedAt {
                ended.duration.recordNanoseconds(attemptStartedAt.duration(to: now).clampedNanoseconds)
                ended.sentSize.record(Int64(self.messages.sentBytes))
                ended.receivedSize.record(Int64(receivedBytes))
            }
            ended.callDuration?.recordNanoseconds(self.callStartedAt.duration(to: now).clampedNanoseconds)
        }
        if let span = self.span {
            span.attributes["rpc.grpc.status_code"] = code.rawValue
            if case .failure(let error) = outcome {
                span.setStatus(SpanStatus(code: .error, message: "\(error.code): \(error.message)"))
                span.recordError(error)
            }
            span.end()
        }
        if self.observer.accessLog {
            self.observer.logger.info(
                "call ended",
                metadata: [
                    "grpc.method": "\(self.method.fullName)",
                    "grpc.target": "\(self.observer.target)",
                    "grpc.status": "\(code)",
                    "duration_ms": "\(ServerCallRecord.milliseconds(self.callStartedAt.duration(to: now)))",
                    "bytes_in": "\(receivedBytes)",
                    "bytes_out": "\(self.messages.sentBytes)",
                ]
            )
        }
    }
}
