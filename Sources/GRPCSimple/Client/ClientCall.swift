import NIOCore
import SwiftProtobuf

/// The caller's handle on one streaming call. Operations hop to the channel's event
/// loop, where the `ClientStream` lives. Dropping the last reference to an unfinished
/// call cancels it (RST_STREAM), so an abandoned response stream frees the server.
final class ClientCall: Sendable {
    let stream: NIOLoopBoundBox<ClientStream>
    let eventLoop: any EventLoop
    let backpressure: WriteBackpressure
    let method: MethodDescriptor
    /// How request messages are compressed.
    let compression: CompressionAlgorithm
    /// The service config's largest request message, if it sets one.
    let maximumRequestSize: Int?
    private let outbound = OutboundRequests()

    /// Set when the call goes through interceptors or credentials: requests wait for it.
    let startGate: CallStartGate?

    /// Creates the call and starts it on the channel (connecting if needed). `request` is
    /// the single request of a server-streaming call.
    init(
        channel: GRPCChannel, method: MethodDescriptor, options: CallOptions,
        request: (any SwiftProtobuf.Message)? = nil
    ) {
        let start = ClientCallStart(channel: channel, method: method, options: options)
        self.stream = start.stream
        self.backpressure = start.backpressure
        self.eventLoop = channel.eventLoop
        self.method = method
        self.compression = options.compression
        self.maximumRequestSize = start.methodConfig?.maxRequestMessageBytes
        self.startGate = start.startStreaming(request: request)
    }

    deinit {
        let stream = self.stream
        self.eventLoop.execute {
            stream.value.cancel(RPCError(.cancelled, "the call was abandoned before it finished"))
        }
    }

    func cancel(_ error: RPCError = RPCError(.cancelled, "the call was cancelled by the client")) {
        let stream = self.stream
        self.eventLoop.execute { stream.value.cancel(error) }
    }

    func send(_ framed: ByteBuffer) async throws {
        let mustWait = try self.backpressure.add(framed.readableBytes)
        if self.outbound.append(framed) {
            self.scheduleDelivery()
        }
        if mustWait {
            try await self.backpressure.waitForCapacity()
        }
    }

    func closeSend() {
        if self.outbound.end() {
            self.scheduleDelivery()
        }
    }

    /// One hop to the loop hands over every request written (and the end) since the last.
    private func scheduleDelivery() {
        let stream = self.stream
        let outbound = self.outbound
        self.eventLoop.execute {
            let (messages, ended) = outbound.take()
            for message in messages {
                stream.value.send(message, end: false, tracked: true)
            }
            if ended {
                stream.value.closeSend()
            }
        }
    }

    func receive() async throws -> ByteBuffer? {
        let stream = self.stream
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                self.eventLoop.execute { stream.value.receive(continuation) }
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// Every response received so far, or the next ones once they arrive; empty at the end.
    func receiveAll() async throws -> [ByteBuffer] {
        let stream = self.stream
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                self.eventLoop.execute { stream.value.receiveAll(continuation) }
            }
        } onCancel: {
            self.cancel()
        }
    }

    func metadata() async throws -> Metadata {
        let stream = self.stream
        return try await withCheckedThrowingContinuation { continuation in
            self.eventLoop.execute { stream.value.metadata(continuation) }
        }
    }

    func trailingMetadata() async throws -> Metadata {
        let stream = self.stream
        return try await withCheckedThrowingContinuation { continuation in
            self.eventLoop.execute { stream.value.trailingMetadata(continuation) }
        }
    }
}
