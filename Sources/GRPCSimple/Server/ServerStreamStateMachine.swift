/// The two halves of one call on the server, and what may happen in each state.
///
/// The request half is the client's: open until END_STREAM. The response half is ours:
/// idle until we send headers, then streaming, then closed once the status is sent. The
/// machine only decides; `ServerStream` does the writing.
struct ServerStreamStateMachine: Equatable {
    enum RequestState: Equatable { case open, closed }
    enum ResponseState: Equatable { case idle, streaming, closed }

    private(set) var request: RequestState = .open
    private(set) var response: ResponseState = .idle

    /// What to write for a response message.
    enum SendMessageAction: Equatable {
        case writeHeadersThenMessage
        case writeMessage
        /// The status is already sent: the message is dropped.
        case drop
    }

    /// What to write for the status.
    enum SendStatusAction: Equatable {
        /// No headers were sent: one HEADERS frame with status and END_STREAM.
        case writeTrailersOnly
        case writeTrailers
        /// The status is already sent.
        case none
    }

    /// What to do with bytes the client sent.
    enum ReceiveAction: Equatable {
        case deliver
        /// The request half already ended: a protocol violation by the client.
        case protocolViolation
        /// We already ended the call: the bytes are dropped.
        case drop
    }

    var isFinished: Bool { self.response == .closed }

    mutating func receiveMessageBytes() -> ReceiveAction {
        switch (self.request, self.response) {
        case (.closed, _): .protocolViolation
        case (.open, .closed): .drop
        case (.open, _): .deliver
        }
    }

    mutating func receiveEnd() -> ReceiveAction {
        switch self.request {
        case .closed:
            return .protocolViolation
        case .open:
            self.request = .closed
            return self.response == .closed ? .drop : .deliver
        }
    }

    mutating func sendMessage() -> SendMessageAction {
        switch self.response {
        case .idle:
            self.response = .streaming
            return .writeHeadersThenMessage
        case .streaming:
            return .writeMessage
        case .closed:
            return .drop
        }
    }

    mutating func sendStatus() -> SendStatusAction {
        switch self.response {
        case .idle:
            self.response = .closed
            return .writeTrailersOnly
        case .streaming:
            self.response = .closed
            return .writeTrailers
        case .closed:
            return .none
        }
    }

    /// The stream was reset or the connection closed: both halves end.
    mutating func reset() {
        self.request = .closed
        self.response = .closed
    }
}
