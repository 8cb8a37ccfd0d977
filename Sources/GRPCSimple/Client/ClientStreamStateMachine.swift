/// The two halves of one call on the client, and what may happen in each state; the
/// mirror of `ServerStreamStateMachine`.
///
/// The request half is ours: pending while the call waits for a stream on a connection
/// (its messages wait with it), open once the headers are written, closed once the end
/// of the requests is written. The response half is the server's: awaiting headers, then
/// receiving messages, then closed when the status arrives or the call ends any other
/// way. The machine only decides; `ClientStream` does the writing and keeps the messages.
struct ClientStreamStateMachine: Equatable {
    enum RequestState: Equatable {
        /// Not on a connection yet; `ended` once the caller has sent the last request.
        case pending(ended: Bool)
        case open
        case closed
    }

    enum ResponseState: Equatable {
        case awaitingHeaders
        case receiving
        case closed
    }

    private(set) var request = RequestState.pending(ended: false)
    private(set) var response = ResponseState.awaitingHeaders

    /// Whether the call has ended (its outcome is known).
    var isFinished: Bool { self.response == .closed }

    // MARK: Requests

    /// What to do with a request message.
    enum SendMessageAction: Equatable {
        /// Keep it until the call starts on a connection.
        case buffer
        /// Gather it for the next DATA frame.
        case gather
        /// Gather it and write the gathered frame with END_STREAM now: the last request.
        case gatherAndEnd
        /// The requests already ended, or the call did: drop it.
        case drop
    }

    /// A request message, the last one when `end`.
    mutating func sendMessage(end: Bool) -> SendMessageAction {
        switch self.request {
        case .pending(ended: false):
            self.request = .pending(ended: end)
            return .buffer
        case .open where !self.isFinished:
            if end { self.request = .closed }
            return end ? .gatherAndEnd : .gather
        case .pending(ended: true), .open, .closed:
            return .drop
        }
    }

    /// What ending the requests writes.
    enum CloseRequestAction: Equatable {
        /// An END_STREAM (on the gathered messages, or on an empty DATA frame).
        case writeEnd
        /// Nothing now: the end is remembered until the call starts, or was already sent.
        case none
    }

    /// The caller ends the requests.
    mutating func closeRequest() -> CloseRequestAction {
        switch self.request {
        case .pending:
            self.request = .pending(ended: true)
            return .none
        case .open:
            self.request = .closed
            return self.isFinished ? .none : .writeEnd
        case .closed:
            return .none
        }
    }

    /// What starting on a connection writes.
    enum StartAction: Equatable {
        /// The headers, then the buffered messages; the last frame carries END_STREAM when
        /// `endStream` (the requests ended before the call started).
        case start(endStream: Bool)
        /// The call ended before it could start, or has already started.
        case none
    }

    /// The call got a stream on a connection.
    mutating func start() -> StartAction {
        guard !self.isFinished, case .pending(let ended) = self.request else { return .none }
        self.request = ended ? .closed : .open
        return .start(endStream: ended)
    }

    /// The attempt on the current stream is over before any response arrived (the server
    /// did not process it, or failed it with a status its retry policy retries): the call
    /// waits for a new stream, its requests ended or not as they were. The caller checks
    /// that it kept the messages to send again.
    mutating func prepareForRetry() -> Bool {
        guard !self.isFinished, self.response == .awaitingHeaders else { return false }
        switch self.request {
        case .closed: self.request = .pending(ended: true)
        case .open: self.request = .pending(ended: false)
        case .pending: break
        }
        return true
    }

    // MARK: Responses

    /// What to do with a header block from the server.
    enum ReceiveHeadersAction: Equatable {
        /// The first block: parse it as the response head (`ResponseHead`).
        case readHead
        /// The trailers: the call ends with their status.
        case readTrailers
        /// Not allowed here: the call fails with this message.
        case protocolViolation(String)
        /// The call has ended: ignore it.
        case drop
    }

    mutating func receiveHeaders(endStream: Bool) -> ReceiveHeadersAction {
        switch self.response {
        case .closed:
            return .drop
        case .awaitingHeaders:
            return .readHead
        case .receiving:
            return endStream
                ? .readTrailers
                : .protocolViolation("the server sent a second header block that does not end the stream")
        }
    }

    /// The response head was valid and did not end the call: messages may come.
    mutating func headReceived() {
        if self.response == .awaitingHeaders {
            self.response = .receiving
        }
    }

    /// What to do with DATA from the server.
    enum ReceiveDataAction: Equatable {
        case deliver
        case protocolViolation(String)
        case drop
    }

    mutating func receiveData() -> ReceiveDataAction {
        switch self.response {
        case .receiving: .deliver
        case .awaitingHeaders: .protocolViolation("the server sent data before headers")
        case .closed: .drop
        }
    }

    // MARK: Ending

    /// The call ends (its status arrived, or it failed); returns false if it had already
    /// ended. Both halves close.
    mutating func finish() -> Bool {
        guard !self.isFinished else { return false }
        self.response = .closed
        self.request = .closed
        return true
    }
}
