import NIOCore
import Synchronization

/// Request messages on their way from the caller's task to the event loop.
///
/// A caller writing many messages would otherwise pay a hop (a closure, a lock, maybe a
/// wake-up of the loop) per message. Writes queue here instead, and only the write that
/// finds the queue idle schedules a hop, which then takes everything queued by then.
final class OutboundRequests: Sendable {
    private struct State {
        var messages: [ByteBuffer] = []
        var ended = false
        var endDelivered = false
        var deliveryScheduled = false
    }

    private let state = Mutex(State())

    /// Queues a message; true when the caller must schedule a delivery.
    func append(_ message: ByteBuffer) -> Bool {
        self.state.withLock { state in
            state.messages.append(message)
            return Self.scheduleIfIdle(&state)
        }
    }

    /// Marks the end of the requests; true when the caller must schedule a delivery.
    func end() -> Bool {
        self.state.withLock { state in
            guard !state.ended else { return false }
            state.ended = true
            return Self.scheduleIfIdle(&state)
        }
    }

    /// Takes what is queued, and whether the end is now due; on the event loop.
    func take() -> (messages: [ByteBuffer], ended: Bool) {
        self.state.withLock { state in
            let messages = state.messages
            state.messages = []
            state.deliveryScheduled = false
            let ended = state.ended && !state.endDelivered
            if ended { state.endDelivered = true }
            return (messages, ended)
        }
    }

    private static func scheduleIfIdle(_ state: inout State) -> Bool {
        guard !state.deliveryScheduled else { return false }
        state.deliveryScheduled = true
        return true
    }
}
