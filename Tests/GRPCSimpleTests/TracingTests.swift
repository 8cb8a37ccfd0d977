import GRPCSimple
import InMemoryTracing
import Logging
import TestServices
import Testing
import Tracing

/// Spans per call on both sides (OpenTelemetry's RPC conventions), their propagation in
/// metadata through the tracer's own instrument, and the trace id in the call's logs.
@Suite struct TracingTests {
    /// A harness whose server and channel trace with one `InMemoryTracer` (one id
    /// sequence, two sides), with `messageEvents` as given.
    static func withTracer(
        messageEvents: Bool = false,
        _ body: (TestHarness, InMemoryTracer) async throws -> Void
    ) async throws {
        let tracer = InMemoryTracer()
        var configuration = Server.Configuration()
        configuration.observability.tracer = tracer
        configuration.observability.messageEvents = messageEvents
        var channelConfiguration = GRPCChannel.Configuration()
        channelConfiguration.observability.tracer = tracer
        channelConfiguration.observability.messageEvents = messageEvents
        try await withHarness(configuration: configuration, channelConfiguration: channelConfiguration) { harness in
            try await body(harness, tracer)
        }
    }

    /// The client and server spans of the one call named `name`, once both ended.
    static func spans(
        named name: String, in tracer: InMemoryTracer
    ) async throws -> (client: FinishedInMemorySpan, server: FinishedInMemorySpan) {
        let pair = await poll(within: .seconds(10)) { () -> (FinishedInMemorySpan, FinishedInMemorySpan)? in
            let spans = tracer.finishedSpans.filter { $0.operationName == name }
            guard let client = spans.first(where: { $0.kind == .client }),
                let server = spans.first(where: { $0.kind == .server })
            else { return nil }
            return (client, server)
        }
        let (client, server) = try #require(pair)
        return (client, server)
    }

    @Test func aUnaryCallHasAClientSpanThatParentsTheServerSpan() async throws {
        try await Self.withTracer { harness, tracer in
            let response = try await harness.echo.channel.unaryWithMetadata(
                Grpcsimple_Echo_Echo.Method.get,
                request: Grpcsimple_Echo_EchoRequest.with { $0.text = "hi" },
                options: CallOptions(metadata: ["echo-span": "1"]),
                responseType: Grpcsimple_Echo_EchoResponse.self
            )
            let (client, server) = try await Self.spans(named: "grpcsimple.echo.Echo/Get", in: tracer)
            #expect(server.traceID == client.traceID)
            #expect(server.parentSpanID == client.spanID)
            // The handler ran inside the server span.
            #expect(response.trailingMetadata["span-id"] == server.spanID)

            for span in [client, server] {
                #expect(span.attributes["rpc.system"]?.toSpanAttribute() == "grpc")
                #expect(span.attributes["rpc.service"]?.toSpanAttribute() == "grpcsimple.echo.Echo")
                #expect(span.attributes["rpc.method"]?.toSpanAttribute() == "Get")
                #expect(span.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == .int64(0))
                #expect(span.attributes["server.address"]?.toSpanAttribute() == "127.0.0.1")
                #expect(span.attributes["server.port"]?.toSpanAttribute() == .int64(Int64(harness.port)))
                #expect(span.attributes["network.peer.address"]?.toSpanAttribute() == "127.0.0.1")
                #expect(span.status == nil)
                #expect(span.errors.isEmpty)
            }
        }
    }

    @Test func theCallerSpanIsTheParentOfTheClientSpan() async throws {
        try await Self.withTracer { harness, tracer in
            let outer = tracer.startSpan("caller", context: .topLevel, ofKind: .internal)
            try await ServiceContext.withValue(outer.context) {
                _ = try await harness.echo.get(.with { $0.text = "hi" })
            }
            outer.end()
            let (client, server) = try await Self.spans(named: "grpcsimple.echo.Echo/Get", in: tracer)
            let caller = try #require(tracer.finishedSpans.first { $0.operationName == "caller" })
            #expect(client.parentSpanID == caller.spanID)
            #expect(server.traceID == caller.traceID)
        }
    }

    @Test func everyKindHasBothSpans() async throws {
        try await Self.withTracer { harness, tracer in
            for try await _ in harness.echo.expand(.with { $0.text = "a b" }) {}
            _ = try await harness.echo.collect { writer in try await writer.write(.with { $0.text = "x" }) }
            try await harness.echo.update { writer, responses in
                try await writer.write(.with { $0.text = "p" })
                writer.finish()
                for try await _ in responses {}
            }
            for method in ["Expand", "Collect", "Update"] {
                let (client, server) = try await Self.spans(named: "grpcsimple.echo.Echo/\(method)", in: tracer)
                #expect(server.parentSpanID == client.spanID)
                #expect(server.attributes["rpc.method"]?.toSpanAttribute() == .string(method))
                #expect(client.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == .int64(0))
            }
        }
    }

    @Test func failuresAreRecordedOnTheSpans() async throws {
        try await Self.withTracer { harness, tracer in
            _ = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" }, options: CallOptions(metadata: ["fail-code": "5"]))
            }
            let (client, server) = try await Self.spans(named: "grpcsimple.echo.Echo/Get", in: tracer)
            #expect(client.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == .int64(5))
            #expect(server.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == .int64(5))
            // Every failure is an error to the client; NOT_FOUND is the caller's fault, not the server's.
            #expect(client.status?.code == .error)
            #expect(client.errors.count == 1)
            #expect(server.status == nil)
            tracer.clearFinishedSpans()

            _ = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" }, options: CallOptions(metadata: ["fail-plain": "1"]))
            }
            let (_, failed) = try await Self.spans(named: "grpcsimple.echo.Echo/Get", in: tracer)
            #expect(failed.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == .int64(2))
            #expect(failed.status?.code == .error)
            #expect(failed.errors.count == 1)
        }
    }

    @Test func deadlinesEndBothSpans() async throws {
        try await Self.withTracer { harness, tracer in
            _ = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "slow" },
                    options: CallOptions(timeout: .seconds(1), metadata: ["sleep-ms": "10000"]))
            }
            let name = "grpcsimple.echo.Echo/Get"
            let client = try #require(tracer.finishedSpans.first { $0.operationName == name && $0.kind == .client })
            #expect(client.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == .int64(4))
            #expect(client.status?.code == .error)
            // On a loaded machine the deadline can pass before the call reaches the server.
            guard harness.probe.events.contains("handling /grpcsimple.echo.Echo/Get") else { return }
            let (_, server) = try await Self.spans(named: name, in: tracer)
            let serverCode = server.attributes["rpc.grpc.status_code"]?.toSpanAttribute()
            #expect(serverCode == .int64(4) || serverCode == .int64(1))  // its timer, or the client's RST_STREAM
            #expect(server.parentSpanID == client.spanID)
        }
    }

    @Test func messageEventsAreAddedWhenAskedFor() async throws {
        try await Self.withTracer(messageEvents: true) { harness, tracer in
            for try await _ in harness.echo.expand(.with { $0.text = "a b c" }) {}
            let (client, server) = try await Self.spans(named: "grpcsimple.echo.Echo/Expand", in: tracer)
            let types = { (span: FinishedInMemorySpan) in
                span.events.map { $0.attributes["rpc.message.type"]?.toSpanAttribute() }
            }
            #expect(types(server) == ["RECEIVED", "SENT", "SENT", "SENT"])
            #expect(types(client) == ["SENT", "RECEIVED", "RECEIVED", "RECEIVED"])
        }
        try await Self.withTracer { harness, tracer in
            for try await _ in harness.echo.expand(.with { $0.text = "a b c" }) {}
            let (client, server) = try await Self.spans(named: "grpcsimple.echo.Echo/Expand", in: tracer)
            #expect(client.events.isEmpty && server.events.isEmpty)
        }
    }

    @Test func w3cTraceContextReachesTheServerLogsAsTraceID() async throws {
        // A `traceparent` as any W3C tracer writes it (grpcio's OpenTelemetry, swift-otel):
        // the server reads it without a tracer of its own.
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        let logs = CapturedLogs()
        var configuration = Server.Configuration()
        configuration.logger = logs.logger(label: "server")
        configuration.observability.accessLog = true
        try await withHarness(configuration: configuration) { harness in
            var options = CallOptions()
            options.metadata.add("traceparent", "00-\(traceID)-00f067aa0ba902b7-01")
            _ = try await harness.echo.get(.with { $0.text = "traced" }, options: options)
        }
        let access = try #require(logs.all.first { $0.message == "call ended" })
        #expect(access.metadata["trace_id"] == "\(traceID)")
        #expect(access.metadata["grpc.method"] == "grpcsimple.echo.Echo/Get")
        #expect(access.metadata["grpc.status"] == "OK")
        #expect(access.metadata["grpc.peer"]?.hasPrefix("ipv4:127.0.0.1:") == true)
        #expect(access.metadata["bytes_in"] == "8" && access.metadata["bytes_out"] == "8")
        #expect(access.level == .info)
    }
}
