import GRPCSimple
import InMemoryTracing
import NIOConcurrencyHelpers
import SwiftProtobuf
import TestServices
import Tracing

/// What the test echo service saw, for tests to assert on.
final class ServiceProbe: Sendable {
    private let state = NIOLockedValueBox<[String]>([])

    func record(_ event: String) {
        self.state.withLockedValue { $0.append(event) }
    }

    var events: [String] { self.state.withLockedValue { $0 } }

    /// Waits until `event` has been recorded; cancellable, so `withTimeout` can bound it.
    func wait(for event: String) async throws {
        while !self.events.contains(event) {
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Makes an echo service fail every call while it is on (an unhealthy backend).
final class FailureSwitch: Sendable {
    private let state: NIOLockedValueBox<Bool>

    init(on: Bool = true) {
        self.state = NIOLockedValueBox(on)
    }

    var isOn: Bool {
        get { self.state.withLockedValue { $0 } }
        set { self.state.withLockedValue { $0 = newValue } }
    }
}

/// The echo service of the tests. Request metadata steers it:
/// - `sleep-ms`: sleep before answering (cancellable);
/// - `fail-code` / `fail-message` (or `fail-message-bin` for UTF-8): throw an RPCError with that code and message;
/// - `fail-detail`: with `fail-code`, attach this text as a `google.protobuf.StringValue` detail;
/// - `fail-plain`: throw an error that is not an RPCError;
/// - `fail-before-attempt`: N: fail with UNAVAILABLE (or `fail-attempt-code`) every attempt before
///   the Nth (by `grpc-previous-rpc-attempts`), recording `attempt K` for each; with
///   `pushback-ms`, send that as the retry pushback;
/// - `echo-request-headers`: report the user-agent and whether a deadline came;
/// - `echo-metadata`: copy request metadata `x-*` keys into initial and trailing metadata;
/// - `repeat`: for Expand, repeat each word this many times;
/// - `payload-size`: for Get, answer with a text of this many bytes;
/// - `response-compression`: compress responses with this algorithm (`gzip`, `deflate`);
/// - `echo-peer-certificate`: for Get, answer with the client's verified certificate
///   (`ServerContext.peerCertificate`), or `none`;
/// - `echo-principal`: report `context.principal` as trailing metadata `principal`;
/// - `log`: log this text at info through `context.logger`;
/// - `echo-span`: report the span the handler runs in (`ServiceContext.current`, an
///   `InMemoryTracer`'s) as trailing metadata `span-id`, or `none`.
///
/// Every call records `handling <path>` when its handler starts.
struct EchoService: Grpcsimple_Echo_EchoProvider {
    let probe: ServiceProbe
    /// How long Get takes before it answers (a slow backend).
    var getDelay: Duration? = nil
    /// While on, every call fails with UNAVAILABLE (after recording `handling <path>`).
    var failures: FailureSwitch? = nil

    struct PlainError: Error {
        var secret = "database password is hunter2"
    }

    private func prepare(_ context: ServerContext) async throws {
        self.probe.record("handling \(context.method.path)")
        if self.failures?.isOn == true {
            throw RPCError(.unavailable, "this backend fails every call")
        }
        if let text = context.metadata["log"] {
            context.logger.info("\(text)")
        }
        if context.metadata["echo-span"] != nil {
            context.trailingMetadata.add("span-id", ServiceContext.current?.inMemorySpanContext?.spanID ?? "none")
        }
        if context.metadata["echo-principal"] != nil {
            context.trailingMetadata.add("principal", context.principal ?? "none")
        }
        if context.metadata["echo-metadata"] != nil {
            var initial = Metadata()
            var trailing = Metadata()
            for entry in context.metadata where entry.key.hasPrefix("x-") {
                switch entry.value {
                case .string(let value):
                    initial.add(entry.key, value)
                    trailing.add("trailer-" + entry.key, value)
                case .binary(let bytes):
                    initial.add(entry.key, binary: bytes)
                    trailing.add("trailer-" + entry.key, binary: bytes)
                }
            }
            context.initialMetadata = initial
            context.trailingMetadata = trailing
        }
        if let name = context.metadata["response-compression"] {
            context.responseCompression = [.gzip, .deflate, .identity].first { $0.name == name } ?? .identity
        }
        if context.metadata["echo-request-headers"] != nil {
            var trailing = context.trailingMetadata
            trailing.add("seen-user-agent", context.metadata["user-agent"] ?? "")
            trailing.add("seen-deadline", context.deadline == nil ? "no" : "yes")
            context.trailingMetadata = trailing
        }
        if let sleep = context.metadata["sleep-ms"].flatMap({ Int($0) }) {
            self.probe.record("sleeping \(context.method.path)")
            do {
                try await Task.sleep(for: .milliseconds(sleep))
            } catch {
                self.probe.record("cancelled \(context.method.path)")
                throw error
            }
        }
        if let code = context.metadata["fail-code"].flatMap({ Int($0) }) {
            var trailers = Metadata()
            trailers.add("error-detail-bin", binary: [0, 1, 2, 255])
            let message = context.metadata.binary("fail-message-bin").map { String(decoding: $0, as: UTF8.self) }
            let details = try context.metadata["fail-detail"].map { text in
                [try Google_Protobuf_Any(message: Google_Protobuf_StringValue(text))]
            }
            throw RPCError(
                StatusCode(wireValue: code),
                message ?? context.metadata["fail-message"] ?? "",
                trailingMetadata: trailers,
                details: details ?? [],
                cause: PlainError()
            )
        }
        if context.metadata["fail-plain"] != nil {
            throw PlainError()
        }
        if let succeedAt = context.metadata["fail-before-attempt"].flatMap({ Int($0) }) {
            let attempt = (context.metadata["grpc-previous-rpc-attempts"].flatMap { Int($0) } ?? 0) + 1
            self.probe.record("attempt \(attempt)")
            if attempt < succeedAt {
                if let pushback = context.metadata["pushback-ms"].flatMap({ Int64($0) }) {
                    context.setRetryPushback(after: pushback < 0 ? nil : .milliseconds(pushback))
                }
                let code = context.metadata["fail-attempt-code"].flatMap { Int($0) }.map { StatusCode(wireValue: $0) }
                throw RPCError(code ?? .unavailable, "attempt \(attempt) fails")
            }
        }
    }

    func get(request: Grpcsimple_Echo_EchoRequest, context: ServerContext) async throws -> Grpcsimple_Echo_EchoResponse
    {
        try await self.prepare(context)
        if let delay = self.getDelay {
            try await Task.sleep(for: delay)
        }
        if context.metadata["echo-peer-certificate"] != nil {
            return .with { $0.text = context.peerCertificate.map { "\($0)" } ?? "none" }
        }
        if let size = context.metadata["payload-size"].flatMap({ Int($0) }) {
            return .with { $0.text = String(repeating: "x", count: size) }
        }
        return .with { $0.text = request.text }
    }

    func expand(
        request: Grpcsimple_Echo_EchoRequest,
        responses: ResponseWriter<Grpcsimple_Echo_EchoResponse>,
        context: ServerContext
    ) async throws {
        try await self.prepare(context)
        let repeats = context.metadata["repeat"].flatMap { Int($0) } ?? 1
        var written = 0
        do {
            for word in request.text.split(separator: " ") {
                for _ in 0..<repeats {
                    try await responses.write(.with { $0.text = String(word) })
                    written += 1
                    if written % 100 == 0 { self.probe.record("expand wrote \(written)") }
                }
            }
        } catch {
            self.probe.record("expand stopped after \(written)")
            throw error
        }
        self.probe.record("expand done \(written)")
    }

    func collect(
        requests: RequestStream<Grpcsimple_Echo_EchoRequest>,
        context: ServerContext
    ) async throws -> Grpcsimple_Echo_EchoResponse {
        try await self.prepare(context)
        var texts: [String] = []
        do {
            for try await request in requests {
                texts.append(request.text)
            }
        } catch {
            self.probe.record("collect failed \(error)")
            throw error
        }
        return .with { $0.text = texts.joined(separator: " ") }
    }

    func update(
        requests: RequestStream<Grpcsimple_Echo_EchoRequest>,
        responses: ResponseWriter<Grpcsimple_Echo_EchoResponse>,
        context: ServerContext
    ) async throws {
        try await self.prepare(context)
        do {
            for try await request in requests {
                try await responses.write(.with { $0.text = request.text })
            }
        } catch {
            self.probe.record("update failed")
            throw error
        }
        self.probe.record("update done")
    }
}

/// The naming test service: proves generated code for nested, imported and keyword names.
struct NamingService: Grpcsimple_Naming_NamingProvider {
    func useNested(request: Grpcsimple_Naming_Outer.Inner, context: ServerContext) async throws
        -> Grpcsimple_Echo_EchoResponse
    {
        .with { $0.text = "inner:" + request.value }
    }

    func `import`(request: Grpcsimple_Echo_EchoRequest, context: ServerContext) async throws -> Grpcsimple_Naming_Outer
    {
        .with { $0.inner.value = "imported:" + request.text }
    }
}
