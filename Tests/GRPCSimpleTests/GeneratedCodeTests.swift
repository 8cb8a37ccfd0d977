import NIOConcurrencyHelpers
import TestServices
import Testing

@testable import GRPCSimple

/// What generated code offers beyond the calls themselves: method descriptors, a client
/// protocol a fake can stand in for, and the `…WithMetadata` calls.
@Suite struct GeneratedCodeTests {
    typealias Request = Grpcsimple_Echo_EchoRequest
    typealias Response = Grpcsimple_Echo_EchoResponse

    @Test func eachMethodHasOneDescriptor() {
        let get = Grpcsimple_Echo_Echo.Method.get
        #expect(get.service == "grpcsimple.echo.Echo")
        #expect(get.name == "Get")
        #expect(get.kind == .unary)
        #expect(get.path == "/grpcsimple.echo.Echo/Get")
        #expect(Grpcsimple_Echo_Echo.Method.expand.kind == .serverStreaming)
        #expect(Grpcsimple_Echo_Echo.Method.collect.kind == .clientStreaming)
        #expect(Grpcsimple_Echo_Echo.Method.update.kind == .bidirectionalStreaming)
        #expect(Grpcsimple_Echo_Echo.methods.map(\.name) == ["Get", "Expand", "Collect", "Update"])
        #expect(Grpcsimple_Echo_Echo.name == "grpcsimple.echo.Echo")
        #expect(MethodDescriptor(path: "/grpcsimple.echo.Echo/Get", kind: .unary) == get)
        #expect(MethodDescriptor(path: "no-slash", kind: .unary) == nil)
    }

    @Test func theRouterKnowsEveryRegisteredMethod() {
        var router = Router()
        EchoService(probe: ServiceProbe()).register(with: &router)
        #expect(router.methods == Grpcsimple_Echo_Echo.methods.sorted { $0.path < $1.path })
    }

    /// A fake that stands in for the server: code written against the client protocol
    /// cannot tell it from the real client.
    struct FakeEcho: Grpcsimple_Echo_EchoClientProtocol {
        let written = NIOLockedValueBox<[String]>([])

        func get(_ request: Request, options: CallOptions) async throws -> Response {
            .with { $0.text = "fake " + request.text }
        }

        func expand(_ request: Request, options: CallOptions) -> ResponseStream<Response> {
            ResponseStream(
                messages: request.text.split(separator: " ").map { word in .with { $0.text = String(word) } },
                metadata: ["x-fake": "yes"],
                error: request.text.isEmpty ? RPCError(.invalidArgument, "nothing to expand") : nil
            )
        }

        func collect(options: CallOptions, requests: (RequestWriter<Request>) async throws -> Void) async throws
            -> Response
        {
            let written = self.written
            try await requests(RequestWriter { message in written.withLockedValue { $0.append(message.text) } })
            return .with { $0.text = written.withLockedValue { $0.joined(separator: "+") } }
        }

        func update<Output>(
            options: CallOptions,
            _ body: (RequestWriter<Request>, ResponseStream<Response>) async throws -> Output
        ) async throws -> Output {
            try await body(RequestWriter { _ in }, ResponseStream(messages: [.with { $0.text = "pong" }]))
        }
    }

    /// Code under test: it only knows the protocol.
    static func useEcho(_ client: some Grpcsimple_Echo_EchoClientProtocol) async throws -> [String] {
        var seen: [String] = []
        seen.append(try await client.get(.with { $0.text = "a" }).text)
        seen.append(try await client.getWithMetadata(.with { $0.text = "b" }).message.text)
        for try await response in client.expand(.with { $0.text = "c d" }) {
            seen.append(response.text)
        }
        seen.append(
            try await client.collect { requests in
                try await requests.write(.with { $0.text = "e" })
                try await requests.write(.with { $0.text = "f" })
            }.text
        )
        seen.append(
            try await client.update { requests, responses in
                try await requests.write(.with { $0.text = "ping" })
                requests.finish()
                var texts: [String] = []
                for try await response in responses { texts.append(response.text) }
                return texts.joined()
            }
        )
        return seen
    }

    @Test func aFakeStandsInForTheClientForEveryKind() async throws {
        let fake = FakeEcho()
        let seen = try await Self.useEcho(fake)
        #expect(seen == ["fake a", "fake b", "c", "d", "e+f", "pong"])
        let stream = fake.expand(.with { $0.text = "x" })
        #expect(try await stream.metadata["x-fake"] == "yes")
        let failing = fake.expand(Request())
        let error = await expectRPCError { for try await _ in failing {} }
        #expect(error?.code == .invalidArgument)
    }

    @Test func theRealClientAnswersTheSameCodeOverASocket() async throws {
        try await withHarness { harness in
            let seen = try await Self.useEcho(harness.echo)
            #expect(seen == ["a", "b", "c", "d", "e f", "ping"])
        }
    }

    @Test func withMetadataCallsReturnTheServersMetadata() async throws {
        try await withHarness { harness in
            let options = CallOptions(metadata: ["echo-metadata": "1", "x-k": "v"])
            let unary = try await harness.echo.getWithMetadata(.with { $0.text = "m" }, options: options)
            #expect(unary.message.text == "m")
            #expect(unary.metadata["x-k"] == "v")
            #expect(unary.trailingMetadata["trailer-x-k"] == "v")

            let collected = try await harness.echo.collectWithMetadata(options: options) { requests in
                try await requests.write(.with { $0.text = "x" })
                try await requests.write(.with { $0.text = "y" })
            }
            #expect(collected.message.text == "x y")
            #expect(collected.metadata["x-k"] == "v")
            #expect(collected.trailingMetadata["trailer-x-k"] == "v")
        }
    }
}
