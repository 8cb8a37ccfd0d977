import NIOCore

/// What the caller reads of a call: its response messages (one by one, all that arrived,
/// or the single one of a unary call), its metadata, and its end. On the event loop.
extension ClientStream {
    /// How reading ends once no message is left: nil while the call runs.
    private var readEnd: Result<Void, RPCError>? {
        self.outcome.map { $0.map { _ in () } }
    }

    /// The next response message, or nil at the end.
    func receive(_ continuation: CheckedContinuation<ByteBuffer?, any Error>) {
        if self.inbound.read(.one(continuation), ended: self.readEnd) {
            self.grantWindowIfDue()
        }
    }

    /// Every response message received so far, or waits for the next ones; no messages
    /// means the call ended successfully.
    func receiveAll(_ continuation: CheckedContinuation<[ByteBuffer], any Error>) {
        if self.inbound.read(.all(continuation), ended: self.readEnd) {
            self.grantWindowIfDue()
        }
    }

    /// The single response of a unary call, with its metadata, once the call ends.
    func receiveUnary(_ continuation: CheckedContinuation<UnaryResult, any Error>) {
        if self.isFinished {
            continuation.resume(with: self.unaryResult())
        } else {
            self.unaryWaiter = continuation
        }
    }

    func unaryResult() -> Result<UnaryResult, any Error> {
        switch self.outcome {
        case .success(let trailers):
            guard self.inbound.receivedCount == 1, let message = self.inbound.first else {
                let count = self.inbound.receivedCount
                return .failure(
                    RPCError(.internal, "\(self.path) should return one response message; the server sent \(count)"))
            }
            return .success(
                UnaryResult(message: message, metadata: self.responseMetadata ?? [:], trailingMetadata: trailers))
        case .failure(let error):
            return .failure(error)
        case nil:
            return .failure(RPCError(.internal, "the call is not finished"))
        }
    }

    /// The response headers' metadata, once they arrive.
    func metadata(_ continuation: CheckedContinuation<Metadata, any Error>) {
        if let metadata = self.responseMetadata {
            continuation.resume(returning: metadata)
        } else if case .failure(let error) = self.outcome {
            continuation.resume(throwing: error)
        } else {
            self.metadataWaiters.append(continuation)
        }
    }

    /// The trailers' metadata, once the call ends.
    func trailingMetadata(_ continuation: CheckedContinuation<Metadata, any Error>) {
        self.onFinish { outcome in
            switch outcome {
            case .success(let trailers): continuation.resume(returning: trailers)
            case .failure(let error): continuation.resume(returning: error.trailingMetadata)
            }
        }
    }

    /// Returns when the call ends: normally when it ends with OK, throwing its error
    /// otherwise.
    func whenFinished(_ continuation: CheckedContinuation<Void, any Error>) {
        self.onFinish { outcome in continuation.resume(with: outcome.map { _ in () }.mapError { $0 as any Error }) }
    }

    /// Calls `callback` if the call fails (now, if it already has).
    func onFailure(_ callback: @escaping (RPCError) -> Void) {
        self.onFinish { outcome in
            if case .failure(let error) = outcome { callback(error) }
        }
    }

    /// Calls `callback` with the call's outcome when it ends (now, if it has).
    func onFinish(_ callback: @escaping (Result<Metadata, RPCError>) -> Void) {
        if let outcome = self.outcome {
            callback(outcome)
        } else {
            self.finishCallbacks.append(callback)
        }
    }
}
