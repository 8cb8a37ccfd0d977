import GRPCSimple
import NIOConcurrencyHelpers
import SwiftProtobuf
import TestServices
import Testing

/// Server and client interceptors over a real socket: order, metadata, short-circuits,
/// observed messages and final statuses, for all four kinds of RPC.
@Suite struct InterceptorTests {
    /// What interceptors A (outer) and B record around one unary call with text "hi".
    static let unaryEventsOfTwoInterceptors = [
        "A start Get unary", "B start Get unary",
        "A request hi", "B request hi",
        "A response hi", "B response hi",
        "B end OK", "A end OK",
    ]

    // MARK: Server

    @Test func serverInterceptorsRunInOrderAroundTheHandler() async throws {
        let log = EventLog()
        let interceptors: [any ServerInterceptor] = [Recorder(name: "A", log: log), Recorder(name: "B", log: log)]
        try await withHarness(interceptors: interceptors) { harness in
            _ = try await harness.echo.get(.with { $0.text = "hi" })
        }
        #expect(log.events == Self.unaryEventsOfTwoInterceptors)
    }

    @Test func serverInterceptorsObserveEveryKind() async throws {
        let log = EventLog()
        try await withHarness(interceptors: [Recorder(name: "S", log: log)]) { harness in
            for try await _ in harness.echo.expand(.with { $0.text = "a b c" }) {}
            _ = try await harness.echo.collect { writer in
                try await writer.write(.with { $0.text = "x" })
                try await writer.write(.with { $0.text = "y" })
            }
            try await harness.echo.update { writer, responses in
                var iterator = responses.makeAsyncIterator()
                for text in ["p", "q"] {
                    try await writer.write(.with { $0.text = text })
                    _ = try await iterator.next()
                }
                writer.finish()
                while try await iterator.next() != nil {}
            }
        }
        #expect(
            log.events == [
                "S start Expand server streaming", "S request a b c", "S response a", "S response b", "S response c",
                "S end OK",
                "S start Collect client streaming", "S request x", "S request y", "S response x y", "S end OK",
                "S start Update bidirectional streaming", "S request p", "S response p", "S request q", "S response q",
                "S end OK",
            ])
    }

    @Test func serverInterceptorChangesRequestMetadataForLaterInterceptorsAndTheHandler() async throws {
        let log = EventLog()
        let interceptors: [any ServerInterceptor] = [
            MetadataAdder(key: "x-added", value: "by-interceptor"),
            MetadataReader(key: "x-added", log: log),
        ]
        try await withHarness(interceptors: interceptors) { harness in
            let response = try await harness.echo.channel.unaryWithMetadata(
                Grpcsimple_Echo_Echo.Method.get,
                request: Grpcsimple_Echo_EchoRequest.with { $0.text = "m" },
                options: CallOptions(metadata: ["echo-metadata": "1"]),
                responseType: Grpcsimple_Echo_EchoResponse.self
            )
            // The handler copies x-* request metadata into its response metadata.
            #expect(response.metadata["x-added"] == "by-interceptor")
        }
        #expect(log.events == ["saw x-added=by-interceptor"])
    }

    @Test func serverInterceptorEndsCallsWithoutRunningTheHandler() async throws {
        let denier = Denier(code: .permissionDenied, message: "not today")
        try await withHarness(interceptors: [denier]) { harness in
            let errors = await Self.callEveryKind(harness.echo)
            for (kind, error) in errors {
                #expect(error?.code == .permissionDenied, "\(kind): \(String(describing: error))")
                #expect(error?.message == "not today", "\(kind)")
            }
            #expect(!harness.probe.events.contains { $0.hasPrefix("handling") })
        }
    }

    @Test func serverInterceptorSeesAndCanReplaceTheFinalStatus() async throws {
        let log = EventLog()
        let interceptors: [any ServerInterceptor] = [ErrorMasker(), Recorder(name: "R", log: log)]
        try await withHarness(interceptors: interceptors) { harness in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "f" }, options: CallOptions(metadata: ["fail-code": "5"]))
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message == "masked: NOT_FOUND")
        }
        #expect(log.events.last == "R end \(StatusCode.notFound)")
    }

    // MARK: Client

    @Test func clientInterceptorsRunInOrderAndAddMetadata() async throws {
        let log = EventLog()
        var configuration = GRPCChannel.Configuration()
        configuration.interceptors = [
            ClientRecorder(name: "A", log: log),
            ClientMetadataAdder(key: "x-client", value: "added"),
            ClientRecorder(name: "B", log: log),
        ]
        try await withHarness(channelConfiguration: configuration) { harness in
            let response = try await harness.channel.unaryWithMetadata(
                Grpcsimple_Echo_Echo.Method.get,
                request: Grpcsimple_Echo_EchoRequest.with { $0.text = "hi" },
                options: CallOptions(metadata: ["echo-metadata": "1"]),
                responseType: Grpcsimple_Echo_EchoResponse.self
            )
            #expect(response.metadata["x-client"] == "added")
        }
        #expect(log.events == Self.unaryEventsOfTwoInterceptors)
    }

    @Test func clientInterceptorsObserveEveryKind() async throws {
        let log = EventLog()
        var configuration = GRPCChannel.Configuration()
        configuration.interceptors = [ClientRecorder(name: "C", log: log), ClientMetadataAdder(key: "x-k", value: "v")]
        try await withHarness(channelConfiguration: configuration) { harness in
            let stream = harness.echo.expand(
                .with { $0.text = "a b" }, options: CallOptions(metadata: ["echo-metadata": "1"]))
            for try await _ in stream {}
            let metadata = try await stream.metadata
            #expect(metadata["x-k"] == "v")
            try await Self.waitFor(log, "C end OK", count: 1)
            _ = try await harness.echo.collect { writer in
                try await writer.write(.with { $0.text = "x" })
                try await writer.write(.with { $0.text = "y" })
            }
            try await Self.waitFor(log, "C end OK", count: 2)
            try await harness.echo.update { writer, responses in
                var iterator = responses.makeAsyncIterator()
                for text in ["p", "q"] {
                    try await writer.write(.with { $0.text = text })
                    _ = try await iterator.next()
                }
                writer.finish()
                while try await iterator.next() != nil {}
            }
            try await Self.waitFor(log, "C end OK", count: 3)
        }
        // A streaming call's chain ends in its own task, which may log "end" before the
        // caller has read (and observed) the last responses: the order of the rest is fixed.
        #expect(
            log.events.filter { $0 != "C end OK" } == [
                "C start Expand server streaming", "C request a b", "C response a", "C response b",
                "C start Collect client streaming", "C request x", "C request y", "C response x y",
                "C start Update bidirectional streaming", "C request p", "C response p", "C request q", "C response q",
            ])
        #expect(log.events.filter { $0 == "C end OK" }.count == 3)
    }

    @Test func clientInterceptorFailsCallsBeforeTheyAreSent() async throws {
        var configuration = GRPCChannel.Configuration()
        configuration.interceptors = [ClientDenier()]
        try await withHarness(channelConfiguration: configuration) { harness in
            let errors = await Self.callEveryKind(harness.echo)
            for (kind, error) in errors {
                #expect(error?.code == .failedPrecondition, "\(kind): \(String(describing: error))")
                #expect(error?.message == "blocked by the client", "\(kind)")
            }
            #expect(!harness.probe.events.contains { $0.hasPrefix("handling") })
        }
    }

    @Test func clientInterceptorSeesTheFailureStatus() async throws {
        let log = EventLog()
        var configuration = GRPCChannel.Configuration()
        configuration.interceptors = [ClientRecorder(name: "C", log: log)]
        try await withHarness(channelConfiguration: configuration) { harness in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "f" }, options: CallOptions(metadata: ["fail-code": "5"]))
            }
            #expect(error?.code == .notFound)
            let streamError = await expectRPCError {
                for try await _ in harness.echo.expand(
                    .with { $0.text = "f" }, options: CallOptions(metadata: ["fail-code": "7"]))
                {}
            }
            #expect(streamError?.code == .permissionDenied)
            try await Self.waitFor(log, "C end \(StatusCode.permissionDenied)", count: 1)
        }
        #expect(log.events.contains("C end \(StatusCode.notFound)"))
    }

    @Test func clientInterceptorCanSetTheTimeout() async throws {
        var configuration = GRPCChannel.Configuration()
        configuration.interceptors = [ClientTimeout(timeout: .milliseconds(200))]
        try await withHarness(channelConfiguration: configuration) { harness in
            let echo = harness.echo
            let error = try await withTimeout(seconds: 8) {
                await expectRPCError {
                    _ = try await echo.get(
                        .with { $0.text = "slow" }, options: CallOptions(metadata: ["sleep-ms": "20000"]))
                }
            }
            #expect(error?.code == .deadlineExceeded)
            let streamError = try await withTimeout(seconds: 8) {
                await expectRPCError {
                    for try await _ in echo.expand(
                        .with { $0.text = "slow" }, options: CallOptions(metadata: ["sleep-ms": "20000"]))
                    {}
                }
            }
            #expect(streamError?.code == .deadlineExceeded)
        }
    }

    @Test func streamingChainsSeeTheCallersTaskLocals() async throws {
        let log = EventLog()
        var configuration = GRPCChannel.Configuration()
        configuration.interceptors = [TaskLocalReader(log: log)]
        try await withHarness(channelConfiguration: configuration) { harness in
            try await TestTrace.$id.withValue("trace-7") {
                for try await _ in harness.echo.expand(.with { $0.text = "t" }) {}
            }
        }
        #expect(log.events == ["trace trace-7"])
    }

    // MARK: Misbehaving interceptors and slow credentials

    @Test func aClientInterceptorThatNeverCallsNextFailsTheCallInsteadOfHangingIt() async throws {
        var configuration = GRPCChannel.Configuration()
        configuration.interceptors = [ClientSkipper()]
        try await withHarness(channelConfiguration: configuration) { harness in
            let echo = harness.echo
            let errors = try await withTimeout(seconds: 10) { await Self.callEveryKind(echo) }
            for (kind, error) in errors {
                #expect(error?.code == .internal, "\(kind): \(String(describing: error))")
                #expect(error?.message.contains("returned without making the call") == true, "\(kind)")
            }
            #expect(!harness.probe.events.contains { $0.hasPrefix("handling") })
        }
    }

    @Test func theDeadlineEndsACallWhoseCredentialsNeverArrive() async throws {
        var configuration = GRPCChannel.Configuration()
        configuration.credentials = CallCredentials { _ in
            try await Task.sleep(for: .seconds(60))  // a token service that does not answer
            return ["authorization": "Bearer late"]
        }
        try await withHarness(channelConfiguration: configuration) { harness in
            let echo = harness.echo
            let options = CallOptions(timeout: .milliseconds(300))
            let unary = try await withTimeout(seconds: 10) {
                await expectRPCError { _ = try await echo.get(.with { $0.text = "x" }, options: options) }
            }
            #expect(unary?.code == .deadlineExceeded, "\(String(describing: unary))")
            // A writer waiting for the chain is released too.
            let bidirectional = try await withTimeout(seconds: 10) {
                await expectRPCError {
                    try await echo.update(options: options) { writer, responses in
                        try await writer.write(.with { $0.text = "b" })
                        writer.finish()
                        for try await _ in responses {}
                    }
                }
            }
            #expect(bidirectional?.code == .deadlineExceeded, "\(String(describing: bidirectional))")
            #expect(!harness.probe.events.contains { $0.hasPrefix("handling") })
        }
    }

    @Test func cancellingTheCallerEndsACallWhoseCredentialsNeverArrive() async throws {
        var configuration = GRPCChannel.Configuration()
        configuration.credentials = CallCredentials { _ in
            try await Task.sleep(for: .seconds(60))
            return [:]
        }
        try await withHarness(channelConfiguration: configuration) { harness in
            let echo = harness.echo
            let call = Task { await expectRPCError { _ = try await echo.get(.with { $0.text = "x" }) } }
            try await Task.sleep(for: .milliseconds(100))
            call.cancel()
            let error = try await withTimeout(seconds: 10) { await call.value }
            #expect(error?.code == .cancelled, "\(String(describing: error))")
        }
    }

    @Test func theCallersResultIsTheCallsOwnOnceNextHasRun() async throws {
        let log = EventLog()
        var configuration = GRPCChannel.Configuration()
        configuration.interceptors = [ErrorSwallower(log: log), NextTwice(log: log)]
        try await withHarness(channelConfiguration: configuration) { harness in
            // The call fails; an interceptor that swallows the error does not hide it.
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "f" }, options: CallOptions(metadata: ["fail-code": "5"]))
            }
            #expect(error?.code == .notFound)
            // The call succeeds; the interceptor calling next a second time gets INTERNAL,
            // which the swallower drops: the caller gets the response.
            let reply = try await harness.echo.get(.with { $0.text = "ok" })
            #expect(reply.text == "ok")
        }
        #expect(log.events == ["swallowed NOT_FOUND", "second next: INTERNAL", "swallowed INTERNAL"])
    }

    @Test func serverInterceptorsMustCallNextOnceForCallsThatOweAResponse() async throws {
        try await withHarness(interceptors: [ServerSkipper()]) { harness in
            let unary = await expectRPCError { _ = try await harness.echo.get(.with { $0.text = "x" }) }
            #expect(unary?.code == .internal)
            #expect(unary?.message.contains("returned without calling next") == true, "\(String(describing: unary))")
            // A streaming response may be empty: OK with no messages.
            var count = 0
            for try await _ in harness.echo.expand(.with { $0.text = "a b" }) { count += 1 }
            #expect(count == 0)
        }
        try await withHarness(interceptors: [ServerNextTwice()]) { harness in
            let error = await expectRPCError { _ = try await harness.echo.get(.with { $0.text = "x" }) }
            #expect(error?.code == .internal)
            #expect(error?.message.contains("called next more than once") == true, "\(String(describing: error))")
        }
    }

    // MARK: Helpers

    /// Makes one call of each kind and returns the RPCError each ended with.
    static func callEveryKind(_ echo: Grpcsimple_Echo_EchoClient) async -> [(String, RPCError?)] {
        var errors: [(String, RPCError?)] = []
        errors.append(("unary", await expectRPCError { _ = try await echo.get(.with { $0.text = "u" }) }))
        errors.append(
            (
                "server streaming",
                await expectRPCError {
                    for try await _ in echo.expand(.with { $0.text = "s" }) {}
                }
            ))
        errors.append(
            (
                "client streaming",
                await expectRPCError {
                    _ = try await echo.collect { writer in try await writer.write(.with { $0.text = "c" }) }
                }
            ))
        errors.append(
            (
                "bidirectional streaming",
                await expectRPCError {
                    try await echo.update { writer, responses in
                        try await writer.write(.with { $0.text = "b" })
                        writer.finish()
                        for try await _ in responses {}
                    }
                }
            ))
        return errors
    }

    /// Streaming chains end in their own task, just after the caller sees the end.
    static func waitFor(_ log: EventLog, _ event: String, count: Int) async throws {
        guard await eventually(within: .seconds(10), { log.events.filter { $0 == event }.count >= count }) else {
            throw TimeoutError(seconds: 10)
        }
    }
}

/// Events recorded by the test interceptors, in order.
final class EventLog: Sendable {
    private let recorded = NIOLockedValueBox<[String]>([])
    func record(_ event: String) { self.recorded.withLockedValue { $0.append(event) } }
    var events: [String] { self.recorded.withLockedValue { $0 } }
}

private func text(of message: any SwiftProtobuf.Message) -> String {
    (message as? Grpcsimple_Echo_EchoRequest)?.text ?? (message as? Grpcsimple_Echo_EchoResponse)?.text ?? "?"
}

/// What the recording interceptors of both sides log: the start, each message, the end.
private func recordCall(
    _ name: String,
    _ log: EventLog,
    method: String,
    kind: RPCKind,
    observe: (
        _ requests: @escaping @Sendable (any SwiftProtobuf.Message) -> Void,
        _ responses: @escaping @Sendable (any SwiftProtobuf.Message) -> Void
    ) -> Void,
    next: () async throws -> Void
) async throws {
    log.record("\(name) start \(method) \(kind)")
    observe({ log.record("\(name) request \(text(of: $0))") }, { log.record("\(name) response \(text(of: $0))") })
    do {
        try await next()
        log.record("\(name) end OK")
    } catch let error as RPCError {
        log.record("\(name) end \(error.code)")
        throw error
    }
}

private struct Recorder: ServerInterceptor {
    let name: String
    let log: EventLog

    func intercept(_ call: ServerInterceptorCall, next: (ServerInterceptorCall) async throws -> Void) async throws {
        var call = call
        try await recordCall(self.name, self.log, method: call.method.name, kind: call.method.kind) {
            requests, responses in
            call.observeRequests(requests)
            call.observeResponses(responses)
        } next: {
            try await next(call)
        }
    }
}

private struct MetadataAdder: ServerInterceptor {
    let key: String
    let value: String

    func intercept(_ call: ServerInterceptorCall, next: (ServerInterceptorCall) async throws -> Void) async throws {
        var call = call
        call.metadata.add(self.key, self.value)
        try await next(call)
    }
}

private struct MetadataReader: ServerInterceptor {
    let key: String
    let log: EventLog

    func intercept(_ call: ServerInterceptorCall, next: (ServerInterceptorCall) async throws -> Void) async throws {
        self.log.record("saw \(self.key)=\(call.metadata[self.key] ?? "nothing")")
        try await next(call)
    }
}

private struct Denier: ServerInterceptor {
    let code: StatusCode
    let message: String

    func intercept(_ call: ServerInterceptorCall, next: (ServerInterceptorCall) async throws -> Void) async throws {
        throw RPCError(self.code, self.message)
    }
}

private struct ErrorMasker: ServerInterceptor {
    func intercept(_ call: ServerInterceptorCall, next: (ServerInterceptorCall) async throws -> Void) async throws {
        do {
            try await next(call)
        } catch let error as RPCError {
            throw RPCError(.unavailable, "masked: \(error.code.name)")
        }
    }
}

private struct ClientRecorder: ClientInterceptor {
    let name: String
    let log: EventLog

    func intercept(_ call: ClientInterceptorCall, next: (ClientInterceptorCall) async throws -> Void) async throws {
        var call = call
        try await recordCall(self.name, self.log, method: call.method.name, kind: call.method.kind) {
            requests, responses in
            call.observeRequests(requests)
            call.observeResponses(responses)
        } next: {
            try await next(call)
        }
    }
}

private struct ClientMetadataAdder: ClientInterceptor {
    let key: String
    let value: String

    func intercept(_ call: ClientInterceptorCall, next: (ClientInterceptorCall) async throws -> Void) async throws {
        var call = call
        call.metadata.add(self.key, self.value)
        call.metadata.replace("echo-metadata", "1")
        try await next(call)
    }
}

private struct ClientDenier: ClientInterceptor {
    func intercept(_ call: ClientInterceptorCall, next: (ClientInterceptorCall) async throws -> Void) async throws {
        throw RPCError(.failedPrecondition, "blocked by the client")
    }
}

private struct ClientTimeout: ClientInterceptor {
    let timeout: Duration

    func intercept(_ call: ClientInterceptorCall, next: (ClientInterceptorCall) async throws -> Void) async throws {
        var call = call
        call.options.timeout = self.timeout
        try await next(call)
    }
}

enum TestTrace {
    @TaskLocal static var id: String?
}

private struct TaskLocalReader: ClientInterceptor {
    let log: EventLog

    func intercept(_ call: ClientInterceptorCall, next: (ClientInterceptorCall) async throws -> Void) async throws {
        self.log.record("trace \(TestTrace.id ?? "none")")
        try await next(call)
    }
}

private struct ClientSkipper: ClientInterceptor {
    func intercept(_ call: ClientInterceptorCall, next: (ClientInterceptorCall) async throws -> Void) async throws {}
}

private struct ErrorSwallower: ClientInterceptor {
    let log: EventLog

    func intercept(_ call: ClientInterceptorCall, next: (ClientInterceptorCall) async throws -> Void) async throws {
        do {
            try await next(call)
        } catch let error as RPCError {
            self.log.record("swallowed \(error.code)")
        }
    }
}

private struct NextTwice: ClientInterceptor {
    let log: EventLog

    func intercept(_ call: ClientInterceptorCall, next: (ClientInterceptorCall) async throws -> Void) async throws {
        try await next(call)
        do {
            try await next(call)
        } catch let error as RPCError {
            self.log.record("second next: \(error.code)")
            throw error
        }
    }
}

private struct ServerSkipper: ServerInterceptor {
    func intercept(_ call: ServerInterceptorCall, next: (ServerInterceptorCall) async throws -> Void) async throws {}
}

private struct ServerNextTwice: ServerInterceptor {
    func intercept(_ call: ServerInterceptorCall, next: (ServerInterceptorCall) async throws -> Void) async throws {
        try await next(call)
        try await next(call)
    }
}
