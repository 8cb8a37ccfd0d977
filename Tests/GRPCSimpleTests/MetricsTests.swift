import CoreMetrics
import MetricsTestKit
import SwiftProtobuf
import TestServices
import Testing
import Tracing

@testable import GRPCSimple

/// gRFC A66 metrics counted exactly, on both sides, with an in-memory backend
/// (MetricsTestKit's `TestMetrics`) over real sockets.
@Suite struct MetricsTests {
    static let get = "grpcsimple.echo.Echo/Get"

    /// A harness whose server and channel record into their own `TestMetrics`.
    static func withMetrics(
        _ body: (TestHarness, _ server: TestMetrics, _ client: TestMetrics) async throws -> Void
    ) async throws {
        let server = TestMetrics()
        let client = TestMetrics()
        var configuration = Server.Configuration()
        configuration.observability.metrics = server
        var channelConfiguration = GRPCChannel.Configuration()
        channelConfiguration.observability.metrics = client
        try await withHarness(configuration: configuration, channelConfiguration: channelConfiguration) { harness in
            try await body(harness, server, client)
        }
    }

    static func size(_ message: some SwiftProtobuf.Message) throws -> Double {
        Double((try message.serializedBytes() as [UInt8]).count)
    }

    @Test func aRetriedCallRecordsEachAttemptAndOneCall() async throws {
        let client = TestMetrics()
        var channelConfiguration = try RetryTests.retryingChannel()
        channelConfiguration.observability.metrics = client
        try await withHarness(channelConfiguration: channelConfiguration) { harness in
            let request = Grpcsimple_Echo_EchoRequest.with { $0.text = "third time" }
            _ = try await harness.echo.get(request, options: CallOptions(metadata: ["fail-before-attempt": "3"]))
            let bytes = try Self.size(request)
            let target = ("grpc.target", "dns:///127.0.0.1:\(harness.port)")
            let failed = [("grpc.method", Self.get), target, ("grpc.status", "UNAVAILABLE")]
            let ok = [("grpc.method", Self.get), target, ("grpc.status", "OK")]
            #expect(
                try client.expectCounter("grpc.client.attempt.started", [("grpc.method", Self.get), target]).totalValue
                    == 3)
            #expect(try client.expectTimer("grpc.client.attempt.duration", failed).values.count == 2)
            #expect(try client.expectTimer("grpc.client.attempt.duration", ok).values.count == 1)
            // Each attempt sent the request again; only the last one got a response.
            #expect(
                try client.expectRecorder("grpc.client.attempt.sent_total_compressed_message_size", failed).values
                    == [bytes, bytes])
            #expect(
                try client.expectRecorder("grpc.client.attempt.rcvd_total_compressed_message_size", failed).values
                    == [0, 0])
            #expect(
                try client.expectRecorder("grpc.client.attempt.sent_total_compressed_message_size", ok).values
                    == [bytes])
            // One call, OK; no call ended UNAVAILABLE.
            #expect(try client.expectTimer("grpc.client.call.duration", ok).values.count == 1)
            #expect(try client.expectTimer("grpc.client.call.duration", failed).values.isEmpty)
        }
    }

    @Test func unaryCallsAreCountedPerMethodAndStatusWithTheirSizes() async throws {
        try await Self.withMetrics { (harness, server, client) async throws in
            let request = Grpcsimple_Echo_EchoRequest.with { $0.text = "hello" }
            for _ in 0..<3 {
                _ = try await harness.echo.get(request)
            }
            let bytes = try Self.size(request)  // the response echoes the text: the same bytes
            let ok = [("grpc.method", Self.get), ("grpc.status", "OK")]

            #expect(try server.expectCounter("grpc.server.call.started", [("grpc.method", Self.get)]).totalValue == 3)
            #expect(try server.expectTimer("grpc.server.call.duration", ok).values.count == 3)
            #expect(
                try server.expectRecorder("grpc.server.call.sent_total_compressed_message_size", ok).values
                    == [bytes, bytes, bytes])
            #expect(
                try server.expectRecorder("grpc.server.call.rcvd_total_compressed_message_size", ok).values
                    == [bytes, bytes, bytes])

            let target = ("grpc.target", "dns:///127.0.0.1:\(harness.port)")
            let clientOK = [("grpc.method", Self.get), target, ("grpc.status", "OK")]
            #expect(
                try client.expectCounter("grpc.client.attempt.started", [("grpc.method", Self.get), target]).totalValue
                    == 3)
            #expect(try client.expectTimer("grpc.client.attempt.duration", clientOK).values.count == 3)
            #expect(try client.expectTimer("grpc.client.call.duration", clientOK).values.count == 3)
            #expect(
                try client.expectRecorder("grpc.client.attempt.sent_total_compressed_message_size", clientOK).values
                    == [bytes, bytes, bytes])
            #expect(
                try client.expectRecorder("grpc.client.attempt.rcvd_total_compressed_message_size", clientOK).values
                    == [bytes, bytes, bytes])
        }
    }

    @Test func failuresAreRecordedUnderTheirStatus() async throws {
        try await Self.withMetrics { (harness, server, client) async throws in
            _ = try await harness.echo.get(.with { $0.text = "fine" })
            for _ in 0..<2 {
                let error = await expectRPCError {
                    _ = try await harness.echo.get(
                        .with { $0.text = "x" }, options: CallOptions(metadata: ["fail-code": "5"]))
                }
                #expect(error?.code == .notFound)
            }
            #expect(try server.expectCounter("grpc.server.call.started", [("grpc.method", Self.get)]).totalValue == 3)
            let notFound = [("grpc.method", Self.get), ("grpc.status", "NOT_FOUND")]
            #expect(try server.expectTimer("grpc.server.call.duration", notFound).values.count == 2)
            #expect(
                try server.expectRecorder("grpc.server.call.sent_total_compressed_message_size", notFound).values == [
                    0, 0,
                ])
            let target = ("grpc.target", "dns:///127.0.0.1:\(harness.port)")
            #expect(
                try client.expectTimer(
                    "grpc.client.call.duration", [("grpc.method", Self.get), target, ("grpc.status", "NOT_FOUND")]
                ).values.count == 2)
        }
    }

    @Test func methodsTheServerDoesNotKnowAreCountedAsOther() async throws {
        try await Self.withMetrics { (harness, server, client) async throws in
            let unknown = MethodDescriptor(service: "grpcsimple.echo.Echo", name: "Nope", kind: .unary)
            for _ in 0..<2 {
                let error = await expectRPCError {
                    _ = try await harness.channel.unary(
                        unknown, request: Grpcsimple_Echo_EchoRequest(), responseType: Grpcsimple_Echo_EchoResponse.self
                    )
                }
                #expect(error?.code == .unimplemented)
            }
            #expect(try server.expectCounter("grpc.server.call.started", [("grpc.method", "other")]).totalValue == 2)
            #expect(
                try server.expectTimer(
                    "grpc.server.call.duration", [("grpc.method", "other"), ("grpc.status", "UNIMPLEMENTED")]
                ).values.count == 2)
            // The client names the method it called: it is its own, not the server's.
            let target = ("grpc.target", "dns:///127.0.0.1:\(harness.port)")
            #expect(
                try client.expectTimer(
                    "grpc.client.attempt.duration",
                    [("grpc.method", "grpcsimple.echo.Echo/Nope"), target, ("grpc.status", "UNIMPLEMENTED")]
                ).values.count == 2)
        }
    }

    @Test func streamingSizesAreTheSumOfTheirMessages() async throws {
        try await Self.withMetrics { (harness, server, client) async throws in
            var received: [Grpcsimple_Echo_EchoResponse] = []
            for try await response in harness.echo.expand(.with { $0.text = "a bb ccc" }) { received.append(response) }
            #expect(received.count == 3)
            let requests = ["one", "two", "three"].map { text in Grpcsimple_Echo_EchoRequest.with { $0.text = text } }
            let joined = try await harness.echo.collect { writer in
                for request in requests { try await writer.write(request) }
            }
            try await harness.echo.update { writer, responses in
                var iterator = responses.makeAsyncIterator()
                for request in requests {
                    try await writer.write(request)
                    _ = try await iterator.next()
                }
                writer.finish()
                while try await iterator.next() != nil {}
            }

            let expand = [("grpc.method", "grpcsimple.echo.Echo/Expand"), ("grpc.status", "OK")]
            let expandSent = try received.map(Self.size).reduce(0, +)
            #expect(
                try server.expectRecorder("grpc.server.call.sent_total_compressed_message_size", expand).values
                    == [expandSent])
            let collect = [("grpc.method", "grpcsimple.echo.Echo/Collect"), ("grpc.status", "OK")]
            let requestBytes = try requests.map(Self.size).reduce(0, +)
            #expect(
                try server.expectRecorder("grpc.server.call.rcvd_total_compressed_message_size", collect).values
                    == [requestBytes])
            #expect(
                try server.expectRecorder("grpc.server.call.sent_total_compressed_message_size", collect).values
                    == [try Self.size(joined)])
            let update = [("grpc.method", "grpcsimple.echo.Echo/Update"), ("grpc.status", "OK")]
            #expect(
                try server.expectRecorder("grpc.server.call.rcvd_total_compressed_message_size", update).values
                    == [requestBytes])
            #expect(
                try server.expectRecorder("grpc.server.call.sent_total_compressed_message_size", update).values
                    == [requestBytes])
            let target = ("grpc.target", "dns:///127.0.0.1:\(harness.port)")
            #expect(
                try client.expectRecorder(
                    "grpc.client.attempt.sent_total_compressed_message_size",
                    [("grpc.method", "grpcsimple.echo.Echo/Update"), target, ("grpc.status", "OK")]
                ).values == [requestBytes])
        }
    }

    @Test func compressedMessagesAreCountedAsSent() async throws {
        try await Self.withMetrics { (harness, server, _) async throws in
            let text = String(repeating: "compressible ", count: 200)
            _ = try await harness.echo.get(
                .with { $0.text = text }, options: CallOptions(metadata: ["response-compression": "gzip"]))
            let ok = [("grpc.method", Self.get), ("grpc.status", "OK")]
            let sent = try #require(
                try server.expectRecorder("grpc.server.call.sent_total_compressed_message_size", ok).values.first)
            let uncompressed = try Self.size(Grpcsimple_Echo_EchoResponse.with { $0.text = text })
            #expect(sent > 0 && sent < uncompressed / 4)
            #expect(
                try server.expectRecorder("grpc.server.call.rcvd_total_compressed_message_size", ok).values
                    == [uncompressed])
        }
    }

    @Test func deadlinesAreRecordedOnBothSides() async throws {
        try await Self.withMetrics { (harness, server, client) async throws in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "slow" },
                    options: CallOptions(timeout: .seconds(1), metadata: ["sleep-ms": "10000"]))
            }
            #expect(error?.code == .deadlineExceeded)
            let target = ("grpc.target", "dns:///127.0.0.1:\(harness.port)")
            #expect(
                try client.expectTimer(
                    "grpc.client.call.duration",
                    [("grpc.method", Self.get), target, ("grpc.status", "DEADLINE_EXCEEDED")]
                ).values.count == 1)
            // On a loaded machine the deadline can pass before the call reaches the server;
            // a call the server saw ends there too: by its own timer or the client's
            // RST_STREAM, whichever comes first.
            let serverSaw = harness.probe.events.contains("handling /grpcsimple.echo.Echo/Get")
            let ended = await eventually(within: .seconds(10)) {
                let counts = ["DEADLINE_EXCEEDED", "CANCELLED"].map { status in
                    (try? server.expectTimer(
                        "grpc.server.call.duration", [("grpc.method", Self.get), ("grpc.status", status)]))?.values
                        .count ?? 0
                }
                return counts.reduce(0, +) == (serverSaw ? 1 : 0)
            }
            #expect(ended)
        }
    }

    @Test func gaugesTrackOpenConnectionsAndActiveStreams() async throws {
        let metrics = TestMetrics()
        var configuration = Server.Configuration()
        configuration.observability.metrics = metrics
        try await withHarness(configuration: configuration) { harness in
            _ = try await harness.echo.get(.with { $0.text = "a" })
            let connections = try metrics.expectMeter("grpc.server.open_connections")
            let streams = try metrics.expectMeter("grpc.server.active_streams")
            #expect(connections.lastValue == 1)
            #expect(streams.values == [1, 0])
            await harness.channel.close()
            #expect(await eventually(within: .seconds(10)) { connections.lastValue == 0 })
        }
    }

    @Test func offMeansNoObserver() {
        #expect(Server(services: []).observer == nil)
        var configuration = Server.Configuration()
        configuration.observability.metrics = NOOPMetricsHandler.instance
        configuration.observability.tracer = NoOpTracer()
        #expect(Server(services: [], configuration: configuration).observer == nil)
        configuration.observability.metrics = TestMetrics()
        #expect(Server(services: [], configuration: configuration).observer != nil)
    }

    @Test func prometheusNamesFollowOpenTelemetry() {
        #expect(GRPCMetrics.serverCallDuration.prometheusName == "grpc_server_call_duration_seconds")
        #expect(GRPCMetrics.serverCallStarted.prometheusName == "grpc_server_call_started_total")
        #expect(
            GRPCMetrics.clientAttemptSentSize.prometheusName
                == "grpc_client_attempt_sent_total_compressed_message_size_bytes")
        #expect(GRPCMetrics.serverOpenConnections.prometheusName == "grpc_server_open_connections")
        #expect(GRPCMetrics.prometheusLabel("grpc.method") == "grpc_method")
        #expect(GRPCMetrics.latencyBuckets.count == 41 && GRPCMetrics.sizeBuckets.count == 14)
    }
}
