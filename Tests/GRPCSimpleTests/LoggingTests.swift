import Logging
import TestServices
import Testing

@testable import GRPCSimple

/// The call's logger (`ServerContext.logger`), the access log, and the channel's
/// connection events.
@Suite struct LoggingTests {
    static let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func theContextLoggerCarriesMethodPeerAndTraceID() async throws {
        let logs = CapturedLogs()
        var configuration = Server.Configuration()
        configuration.logger = logs.logger(label: "server")
        try await withHarness(configuration: configuration) { harness in
            _ = try await harness.echo.get(
                .with { $0.text = "x" },
                options: CallOptions(metadata: ["log": "with trace", "traceparent": Self.traceparent]))
            _ = try await harness.echo.get(.with { $0.text = "x" }, options: CallOptions(metadata: ["log": "without"]))
            _ = try await harness.echo.get(
                .with { $0.text = "x" }, options: CallOptions(metadata: ["log": "malformed", "traceparent": "00-zz"]))
        }
        let lines = Dictionary(logs.all.map { ($0.message, $0) }) { first, _ in first }
        let traced = try #require(lines["with trace"])
        #expect(traced.metadata["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(traced.metadata["grpc.method"] == "grpcsimple.echo.Echo/Get")
        #expect(traced.metadata["grpc.peer"]?.hasPrefix("ipv4:127.0.0.1:") == true)
        #expect(try #require(lines["without"]).metadata["trace_id"] == nil)
        #expect(try #require(lines["malformed"]).metadata["trace_id"] == nil)
        // The access log is off by default.
        #expect(!logs.all.contains { $0.message == "call ended" })
    }

    @Test func theAccessLogHasOneLinePerCallWithoutMessageContents() async throws {
        let logs = CapturedLogs()
        var configuration = Server.Configuration()
        configuration.logger = logs.logger(label: "server")
        configuration.observability.accessLog = true
        try await withHarness(configuration: configuration) { harness in
            _ = try await harness.echo.get(.with { $0.text = "secret-text" })
            _ = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "secret-text" }, options: CallOptions(metadata: ["fail-code": "7"]))
            }
            let unknown = MethodDescriptor(service: "grpcsimple.echo.Echo", name: "Nope", kind: .unary)
            _ = await expectRPCError {
                _ = try await harness.channel.unary(
                    unknown, request: Grpcsimple_Echo_EchoRequest(), responseType: Grpcsimple_Echo_EchoResponse.self)
            }
        }
        let ended = logs.all.filter { $0.message == "call ended" || $0.message == "call rejected" }
        #expect(ended.map { $0.metadata["grpc.status"] } == ["OK", "PERMISSION_DENIED", "UNIMPLEMENTED"])
        #expect(
            ended.map { $0.metadata["grpc.method"] } == [
                "grpcsimple.echo.Echo/Get", "grpcsimple.echo.Echo/Get", "grpcsimple.echo.Echo/Nope",
            ])
        #expect(ended.allSatisfy { $0.level == .info && $0.metadata["duration_ms"] != nil })
        #expect(!logs.all.contains { line in "\(line.message) \(line.metadata)".contains("secret-text") })
    }

    @Test func theChannelLogsItsConnectionAtDebug() async throws {
        let logs = CapturedLogs()
        var channelConfiguration = GRPCChannel.Configuration()
        channelConfiguration.logger = logs.logger(label: "channel")
        try await withHarness(channelConfiguration: channelConfiguration) { harness in
            _ = try await harness.echo.get(.with { $0.text = "x" })
        }
        let events = logs.all.filter { $0.level == .debug }.map(\.message)
        // The channel's states, and its subchannel's connection between them.
        #expect(
            events == ["channel is CONNECTING", "connecting", "connected", "channel is READY", "channel is SHUTDOWN"])
        #expect(logs.all.allSatisfy { $0.metadata["grpc.target"]?.hasPrefix("127.0.0.1:") == true })
        #expect(!logs.all.contains { $0.level > .debug })

        // A server that is not there: the failed attempt, with why.
        let failing = CapturedLogs()
        var refused = GRPCChannel.Configuration()
        refused.logger = failing.logger(label: "channel")
        // A port nobody listens on: a server's, once it stopped.
        let gone = Server(services: [], workers: 1)
        try await gone.start(host: "127.0.0.1", port: 0)
        let port = gone.port!
        await gone.shutdown()
        let channel = try GRPCChannel(host: "127.0.0.1", port: port, configuration: refused)
        _ = await expectRPCError {
            _ = try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "x" })
        }
        await channel.close()
        let failed = try #require(failing.all.first { $0.message == "connection attempt failed" })
        #expect(failed.metadata["error"]?.contains("Connection refused") == true)
    }

    @Test func traceIDsAreReadOnlyFromValidTraceparents() {
        #expect(TraceParent.traceID(of: Self.traceparent) == "4bf92f3577b34da6a3ce929d0e0e4736")
        // A later version may append fields.
        #expect(TraceParent.traceID(of: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra") != nil)
        for bad in [
            "", "00-zz", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            #expect(TraceParent.traceID(of: bad) == nil, "\(bad)")
        }
    }
}
