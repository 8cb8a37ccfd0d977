import NIOCore

/// Client-side health checking (gRFC A17): a subchannel's `grpc.health.v1.Health/Watch`
/// of one service, on the subchannel's own connection, reporting each status it hears.
///
/// `grpc.health.v1`'s two messages are small enough to write and read here by hand (the
/// generated ones live in `GRPCHealth`, which depends on this module): a request holds the
/// service name (field 1), a response the status (field 1, an enum).
final class HealthWatch {
    /// What the watch heard.
    enum Verdict: Equatable {
        /// SERVING: calls may go to the server.
        case serving
        /// Any other status (its name): no calls.
        case notServing(String)
        /// The server has no health service: health checking does not apply to it.
        case unimplemented
        /// The watch failed (its connection closed, the server reset it); try again later.
        case failed(RPCError)
    }

    static let method = MethodDescriptor(service: "grpc.health.v1.Health", name: "Watch", kind: .serverStreaming)

    private let task: Task<Void, Never>
    private let stream: NIOLoopBound<ClientStream>

    /// Starts watching `service` on `connection`; `update` runs on the connection's loop
    /// with each verdict, until `cancel`.
    init(service: String, on connection: ClientConnectionHandler, update: @escaping (Verdict) -> Void) {
        let eventLoop = connection.eventLoop
        let stream = ClientStream(
            method: Self.method,
            options: .defaults,
            deadline: nil,
            maximumMessageSize: 64 * 1024,
            windowSize: 64 * 1024
        )
        stream.send(Self.request(service: service), end: true, tracked: false)
        connection.open(stream)
        let bound = NIOLoopBound(stream, eventLoop: eventLoop)
        let report = NIOLoopBound(update, eventLoop: eventLoop)
        self.stream = bound
        self.task = Self.read(bound, on: eventLoop, report: report)
    }

    /// The task that reads the watch and reports, on the loop, what it hears.
    private static func read(
        _ stream: NIOLoopBound<ClientStream>,
        on eventLoop: any EventLoop,
        report: NIOLoopBound<(Verdict) -> Void>
    ) -> Task<Void, Never> {
        Task {
            let verdict = await Self.watch(stream, on: eventLoop) { verdict in
                eventLoop.execute { report.value(verdict) }
            }
            eventLoop.execute { report.value(verdict) }
        }
    }

    /// Reads responses until the stream ends; returns how it ended.
    private static func watch(
        _ stream: NIOLoopBound<ClientStream>,
        on eventLoop: any EventLoop,
        report: @escaping @Sendable (Verdict) -> Void
    ) async -> Verdict {
        do {
            while true {
                let message: ByteBuffer? = try await withCheckedThrowingContinuation { continuation in
                    eventLoop.execute { stream.value.receive(continuation) }
                }
                guard let message else {
                    return .failed(RPCError(.unavailable, "the server ended its health watch"))
                }
                guard let status = Self.status(in: message) else {
                    return .failed(RPCError(.internal, "the server's health watch sent a malformed response"))
                }
                report(status == 1 ? .serving : .notServing(Self.name(of: status)))
            }
        } catch let error as RPCError {
            return error.code == .unimplemented ? .unimplemented : .failed(error)
        } catch {
            return .failed(RPCError(.unavailable, "the health watch failed: \(error)"))
        }
    }

    /// Stops watching.
    func cancel() {
        self.task.cancel()
        let stream = self.stream
        stream.eventLoop.execute { stream.value.cancel(RPCError(.cancelled, "health checking stopped")) }
    }

    /// `HealthCheckRequest { service }`, enveloped.
    static func request(service: String) -> ByteBuffer {
        var payload = ByteBuffer()
        if !service.isEmpty {
            payload.writeInteger(UInt8(0x0A))  // field 1, length-delimited
            Self.writeVarint(UInt64(service.utf8.count), to: &payload)
            payload.writeString(service)
        }
        return EnvelopeWriter.envelope(payload, allocator: ByteBufferAllocator())
    }

    /// The `status` of a `HealthCheckResponse` payload (0 when absent, as proto3 reads it);
    /// nil when the bytes are not a message.
    static func status(in payload: ByteBuffer) -> UInt64? {
        var buffer = payload
        var status: UInt64 = 0
        while buffer.readableBytes > 0 {
            guard let key = Self.readVarint(&buffer) else { return nil }
            let (field, wireType) = (key >> 3, key & 7)
            switch wireType {
            case 0:
                guard let value = Self.readVarint(&buffer) else { return nil }
                if field == 1 { status = value }
            case 1:
                guard buffer.readSlice(length: 8) != nil else { return nil }
            case 2:
                guard let length = Self.readVarint(&buffer), length <= buffer.readableBytes,
                    buffer.readSlice(length: Int(length)) != nil
                else { return nil }
            case 5:
                guard buffer.readSlice(length: 4) != nil else { return nil }
            default:
                return nil
            }
        }
        return status
    }

    private static func name(of status: UInt64) -> String {
        switch status {
        case 0: "UNKNOWN"
        case 2: "NOT_SERVING"
        case 3: "SERVICE_UNKNOWN"
        default: "status \(status)"
        }
    }

    private static func writeVarint(_ value: UInt64, to buffer: inout ByteBuffer) {
        var value = value
        while value >= 0x80 {
            buffer.writeInteger(UInt8(value & 0x7F | 0x80))
            value >>= 7
        }
        buffer.writeInteger(UInt8(value))
    }

    private static func readVarint(_ buffer: inout ByteBuffer) -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
        }
        return nil
    }
}
