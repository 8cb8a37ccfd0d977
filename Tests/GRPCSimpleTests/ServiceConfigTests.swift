import TestServices
import Testing

@testable import GRPCSimple

/// Service configs (grpc/grpc `doc/service_config.md`): reading the JSON, saying what is
/// wrong with it, and what a channel does with one.
@Suite struct ServiceConfigTests {
    static let full = """
        {
          "loadBalancingConfig": [{"weighted_target_experimental": {}}, {"round_robin": {}}],
          "methodConfig": [
            {
              "name": [{"service": "grpcsimple.echo.Echo", "method": "Get"}],
              "timeout": "1.5s",
              "waitForReady": true,
              "maxRequestMessageBytes": 1024,
              "maxResponseMessageBytes": "2048",
              "retryPolicy": {
                "maxAttempts": 9,
                "initialBackoff": "0.1s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE", 10]
              }
            },
            {
              "name": [{"service": "grpcsimple.echo.Echo"}],
              "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.050s", "nonFatalStatusCodes": ["UNAVAILABLE"]}
            },
            {"name": [{}], "timeout": "30s"}
          ],
          "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1234},
          "healthCheckConfig": {"serviceName": "grpcsimple.echo.Echo"}
        }
        """

    @Test func aFullServiceConfigReads() throws {
        let config = try ServiceConfig(json: Self.full)
        #expect(config.loadBalancing?.name == "round_robin", "the first policy this client has")
        #expect(config.methodConfigs.count == 3)
        let get = try #require(config.methodConfig(for: Grpcsimple_Echo_Echo.Method.get))
        #expect(get.timeout == .milliseconds(1500))
        #expect(get.waitForReady == true)
        #expect(get.maxRequestMessageBytes == 1024)
        #expect(get.maxResponseMessageBytes == 2048)
        #expect(
            get.retryPolicy
                == RetryPolicy(
                    maxAttempts: 5,
                    initialBackoff: .milliseconds(100),
                    maxBackoff: .seconds(1),
                    backoffMultiplier: 2,
                    retryableStatusCodes: [.unavailable, .aborted]
                )
        )
        // A method of the service without its own config gets the service's.
        let expand = try #require(config.methodConfig(for: Grpcsimple_Echo_Echo.Method.expand))
        #expect(
            expand.hedgingPolicy
                == HedgingPolicy(maxAttempts: 3, hedgingDelay: .milliseconds(50), nonFatalStatusCodes: [.unavailable]))
        // Any other service gets the default.
        let other = try #require(
            config.methodConfig(for: MethodDescriptor(service: "other.Service", name: "X", kind: .unary)))
        #expect(other.timeout == .seconds(30))
        #expect(config.retryThrottling == RetryThrottling(maxTokens: 10, tokenRatio: 0.123))
        #expect(config.healthCheckServiceName == "grpcsimple.echo.Echo")
    }

    @Test func durationsAreProto3JSONDurations() {
        #expect(ConfigReader.parseDuration("1s") == .seconds(1))
        #expect(ConfigReader.parseDuration("0.000340s") == .microseconds(340))
        #expect(ConfigReader.parseDuration("2.5s") == .milliseconds(2500))
        for bad in ["1", "-1s", "1.s", "1.0000000001s", "s", "1ms", "1e3s"] {
            #expect(ConfigReader.parseDuration(bad) == nil, "\(bad)")
        }
    }

    @Test(arguments: [
        ("{", "not JSON"),
        ("[]", "the document must be an object"),
        (#"{"methodConfig": {}}"#, "methodConfig must be an array"),
        (#"{"methodConfig": [{"timeout": "1s"}]}"#, "methodConfig[0].name must name at least one method"),
        (
            #"{"methodConfig": [{"name": [{"method": "X"}]}]}"#,
            "methodConfig[0].name[0] names a method without a service"
        ),
        (
            #"{"methodConfig": [{"name": [{"service": "s"}], "timeout": "soon"}]}"#,
            "methodConfig[0].timeout must be a duration"
        ),
        (
            #"{"methodConfig": [{"name": [{}]}, {"name": [{}]}]}"#,
            "methodConfig[1].name repeats the default name {}"
        ),
        (
            #"{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": {"maxAttempts": 1}}]}"#,
            "methodConfig[0].retryPolicy.maxAttempts must be a whole number of at least 2"
        ),
        (
            #"{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "0s"}}]}"#,
            "methodConfig[0].retryPolicy.initialBackoff must be a duration above 0"
        ),
        (
            #"{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["NOPE"]}}]}"#,
            "methodConfig[0].retryPolicy.retryableStatusCodes[0] is not a status code name: 'NOPE'"
        ),
        (
            #"{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": []}}]}"#,
            "retryableStatusCodes must list at least one status code"
        ),
        (
            #"{"methodConfig": [{"name": [{"service": "s"}], "hedgingPolicy": {"maxAttempts": 2}, "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
            "has both a retryPolicy and a hedgingPolicy"
        ),
        (
            #"{"retryThrottling": {"maxTokens": 0, "tokenRatio": 1}}"#,
            "retryThrottling.maxTokens must be a whole number from 1 to 1000"
        ),
        (
            #"{"retryThrottling": {"maxTokens": 10, "tokenRatio": -1}}"#,
            "retryThrottling.tokenRatio must be a number above 0"
        ),
        (#"{"loadBalancingConfig": [{"grpclb": {}}]}"#, "names no policy this client has (grpclb)"),
        (#"{"loadBalancingConfig": [{"a": {}, "b": {}}]}"#, "loadBalancingConfig[0] must hold exactly one policy"),
        (#"{"loadBalancingConfig": [{"least_request": {"choiceCount": 1}}]}"#, "choiceCount must be at least 2"),
        (#"{"loadBalancingPolicy": "grpclb"}"#, "names a policy this client does not have: 'grpclb'"),
        (
            #"{"methodConfig": [{"name": [{"service": "s"}], "waitForReady": "yes"}]}"#,
            "waitForReady must be true or false"
        ),
    ])
    func anInvalidServiceConfigSaysWhereAndWhy(json: String, problem: String) {
        do {
            _ = try ServiceConfig(json: json)
            Issue.record("should not read: \(json)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("invalid service config"), "\(error.message)")
            #expect(error.message.contains(problem), "\(error.message)")
        }
    }

    @Test func jsonParsesWhatServiceConfigsContain() throws {
        let value = try JSONValue.parse(#" {"a": [1, -2.5e3, true, false, null, "x\"\u00e9\ud83d\ude00"], "b": {}} "#)
        #expect(
            value["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null, .string("x\"é😀")]))
        #expect(value["b"] == .object([]))
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01x", "\"\u{01}\"", "[1] 2", String(repeating: "[", count: 100)] {
            #expect(throws: JSONValue.ParseError.self, "\(bad)") { _ = try JSONValue.parse(bad) }
        }
    }

    // MARK: A channel with a service config

    @Test func aChannelAppliesItsMethodConfig() async throws {
        var configuration = GRPCChannel.Configuration()
        configuration.serviceConfig = try ServiceConfig(
            json: """
                {"methodConfig": [
                  {"name": [{"service": "grpcsimple.echo.Echo", "method": "Get"}],
                   "maxRequestMessageBytes": 100, "maxResponseMessageBytes": 200},
                  {"name": [{"service": "grpcsimple.echo.Echo", "method": "Expand"}], "timeout": "0.5s"}
                ]}
                """
        )
        try await withHarness(channelConfiguration: configuration) { harness in
            // A request over the config's limit is not sent.
            let big = await expectRPCError {
                _ = try await harness.echo.get(.with { $0.text = String(repeating: "a", count: 200) })
            }
            #expect(big?.code == .resourceExhausted)
            #expect(
                big?.message.contains("request message larger than max (203 vs. 100 bytes)") == true,
                "\(String(describing: big))")
            #expect(!harness.probe.events.contains("handling /grpcsimple.echo.Echo/Get"), "nothing was sent")
            // A response over the config's limit fails the call.
            let bigAnswer = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" }, options: CallOptions(metadata: ["payload-size": "500"]))
            }
            #expect(bigAnswer?.code == .resourceExhausted)
            // The config's timeout ends a call that would sleep longer.
            let slow = await expectRPCError {
                for try await _ in harness.echo.expand(
                    .with { $0.text = "x" }, options: CallOptions(metadata: ["sleep-ms": "20000"]))
                {}
            }
            #expect(slow?.code == .deadlineExceeded)
            // Other methods are not limited.
            let collected = try await harness.echo.collect { requests in
                try await requests.write(.with { $0.text = String(repeating: "b", count: 300) })
            }
            #expect(collected.text.count == 300)
        }
    }

    @Test func aServiceConfigChoosesTheLoadBalancingPolicy() async throws {
        let backends = [try await LoadBalancingTests.Backend.start(), try await LoadBalancingTests.Backend.start()]
        var configuration = GRPCChannel.Configuration()
        configuration.serviceConfig = try ServiceConfig(json: #"{"loadBalancingConfig": [{"round_robin": {}}]}"#)
        let channel = try GRPCChannel(
            target: "ipv4:" + backends.map(\.hostPort).joined(separator: ","),
            configuration: configuration
        )
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        channel.connect()
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 2 })
        for index in 0..<20 { _ = try await client.get(.with { $0.text = "\(index)" }) }
        #expect(backends.allSatisfy { $0.unaryCalls > 0 }, "round robin from the service config")
        await channel.close()
        for backend in backends { await backend.server.shutdown(gracePeriod: .zero) }
    }

    @Test func aResolverCanBringAServiceConfig() async throws {
        let backends = [try await LoadBalancingTests.Backend.start(), try await LoadBalancingTests.Backend.start()]
        let resolver = LoadBalancingTests.SteeredResolver()
        resolver.set(backends.map(\.address), serviceConfig: #"{"loadBalancingConfig": [{"round_robin": {}}]}"#)
        var configuration = GRPCChannel.Configuration()
        configuration.nameResolvers = [resolver]
        let channel = try GRPCChannel(target: "steered:x", configuration: configuration)
        let client = Grpcsimple_Echo_EchoClient(channel: channel)
        channel.connect()
        #expect(await eventually(within: .seconds(10)) { await channel.readySubchannelCount() == 2 })
        for index in 0..<20 { _ = try await client.get(.with { $0.text = "\(index)" }) }
        #expect(backends.allSatisfy { $0.unaryCalls > 0 }, "round robin from the resolver's service config")
        await channel.close()
        for backend in backends { await backend.server.shutdown(gracePeriod: .zero) }
    }
}
