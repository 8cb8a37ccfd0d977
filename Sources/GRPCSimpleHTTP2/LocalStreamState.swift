/// What the server has sent on a stream (its half of RFC 9113 §5.1's state machine).
public enum LocalStreamState: Sendable {
    /// No response HEADERS yet.
    case idle
    /// Response HEADERS sent; DATA may follow.
    case open
    /// Trailers (END_STREAM) are queued behind DATA that waits for flow-control window.
    case closing
    /// Trailers (END_STREAM) written.
    case closed
}
