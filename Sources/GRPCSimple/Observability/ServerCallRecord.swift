import Logging
import Tracing

/// What the server records about one call while it runs: kept in its `ServerStream` (on
/// the event loop, no allocation of its own), ended once, when the status is written or
/// the call is cut short.
struct ServerCallRecord {
    private let observer: ServerObserver
    private let method: MethodMetrics?
    /// The call's span, when tracing is on.
    let span: (any Span)?
    private let startedAt = ContinuousClock.now
    /// What it sent and received.
    private var messages = MessageTally()
    private(set) var isEnded = false

    init(observer: ServerObserver, method: MethodMetrics?, span: (any Span)?) {
        self.observer = observer
        self.method = method
        self.span = span
    }

    /// A response message went out, `bytes` long after compression, with its prefix.
    mutating func sent(envelopeBytes bytes: Int) {
        self.messages.sent(envelopeBytes: bytes, eventsOn: self.observer.messageEvents ? self.span : nil)
    }

    /// A DATA frame of the request arrived; `messages` is how many complete messages the
    /// call has received so far.
    mutating func received(dataBytes: Int, messages: Int) {
        self.messages.received(
            dataBytes: dataBytes, messages: messages, eventsOn: self.observer.messageEvents ? self.span : nil)
    }

    /// The call ended with `status`: records its metrics, ends its span and writes its
    /// access log line. Only the first call counts.
    mutating func end(status: Status, context: ServerContext) {
        guard !self.isEnded else { return }
        self.isEnded = true
        let duration = self.startedAt.duration(to: .now)
        let receivedBytes = self.messages.receivedBytes
        if let method = self.method {
            let ended = method.ended(status.code)
            ended.duration.recordNanoseconds(duration.clampedNanoseconds)
            ended.sentSize.record(Int64(self.messages.sentBytes))
            ended.receivedSize.record(Int64(receivedBytes))
            self.observer.metrics?.activeStreams.decrement(by: 1)
        }
        if let span = self.span {
            span.attributes["rpc.grpc.status_code"] = status.code.rawValue
            if status.code.isServerSpanError {
                span.setStatus(SpanStatus(code: .error, message: "\(status.code): \(status.message)"))
                span.recordError(RPCError(status.code, status.message))
            }
            span.end()
        }
        if self.observer.accessLog {
            context.logger.info(
                "call ended",
                metadata: [
                    "grpc.status": "\(status.code)",
                    "duration_ms": "\(Self.milliseconds(duration))",
                    "bytes_in": "\(receivedBytes)",
                    "bytes_out": "\(self.messages.sentBytes)",
                ]
            )
        }
    }

    /// Milliseconds with three decimals, e.g. `0.183`.
    static func milliseconds(_ duration: Duration) -> String {
        let microseconds = duration.clampedNanoseconds / 1000
        let fraction = String(microseconds % 1000)
        return "\(microseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}

extension StatusCode {
    /// Whether a server span with this status is an error, per OpenTelemetry's gRPC
    /// conventions (the server's own faults, not the caller's).
    var isServerSpanError: Bool {
        switch self {
        case .unknown, .deadlineExceeded, .unimplemented, .internal, .unavailable, .dataLoss: true
        default: false
        }
    }
}
