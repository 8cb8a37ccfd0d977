/// The state of a channel, or of one of its subchannels (grpc/grpc
/// `doc/connectivity-semantics-and-api.md`).
public enum ConnectivityState: Sendable, Hashable, CustomStringConvertible {
    /// No connection, and none wanted yet: the next call connects.
    case idle
    /// Connecting (resolving the target, opening TCP, the TLS handshake, HTTP/2's preface).
    case connecting
    /// Connected: calls go out.
    case ready
    /// The last attempt failed; another comes after the backoff delay. Calls that do not
    /// wait for ready fail at once.
    case transientFailure
    /// Closed for good.
    case shutdown

    /// `IDLE`, `CONNECTING`, `READY`, `TRANSIENT_FAILURE`, `SHUTDOWN`: as every gRPC prints it.
    public var description: String {
        switch self {
        case .idle: "IDLE"
        case .connecting: "CONNECTING"
        case .ready: "READY"
        case .transientFailure: "TRANSIENT_FAILURE"
        case .shutdown: "SHUTDOWN"
        }
    }
}
