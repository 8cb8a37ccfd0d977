import NIOConcurrencyHelpers
import TestServices
import Testing

@testable import GRPCSimple

/// Per-call credentials on the client and `BearerTokenAuthenticator` on the server,
/// over a real socket.
@Suite struct AuthTests {
    /// Tokens the test server knows: "alice" may call everything, "bob" may not call Collect.
    static func authenticator(seen: EventLog? = nil) -> BearerTokenAuthenticator {
        BearerTokenAuthenticator(exemptServices: ["grpcsimple.naming.Naming"]) { token, call in
            seen?.record(token)
            let users = ["token-alice": "alice", "token-bob": "bob"]
            guard let user = users[token] else { return nil }
            if user == "bob" && call.method == Grpcsimple_Echo_Echo.Method.collect {
                throw RPCError(.permissionDenied, "bob may not call \(call.method)")
            }
            return user
        }
    }

    @Test func aTokenFromTheChannelAuthenticatesEveryKindAndNamesThePrincipal() async throws {
        var configuration = GRPCChannel.Configuration()
        configuration.credentials = .bearerToken("token-alice")
        try await withHarness(channelConfiguration: configuration, interceptors: [Self.authenticator()]) { harness in
            let response = try await harness.channel.unaryWithMetadata(
                Grpcsimple_Echo_Echo.Method.get,
                request: Grpcsimple_Echo_EchoRequest.with { $0.text = "hi" },
                options: CallOptions(metadata: ["echo-principal": "1"]),
                responseType: Grpcsimple_Echo_EchoResponse.self
            )
            #expect(response.message.text == "hi")
            #expect(response.trailingMetadata["principal"] == "alice")
            let errors = await InterceptorTests.callEveryKind(harness.echo)
            for (kind, error) in errors {
                #expect(error == nil, "\(kind): \(String(describing: error))")
            }
        }
    }

    @Test func callsWithoutAValidTokenAreUnauthenticated() async throws {
        try await withHarness(interceptors: [Self.authenticator()]) { harness in
            let cases: [(String, CallOptions, String)] = [
                ("no token", CallOptions(), "needs a bearer token"),
                (
                    "wrong scheme", CallOptions(metadata: ["authorization": "Basic dXNlcjpwYXNz"]),
                    "is not 'Bearer <token>'"
                ),
                ("empty token", CallOptions(metadata: ["authorization": "Bearer "]), "is not 'Bearer <token>'"),
                ("unknown token", CallOptions(credentials: .bearerToken("token-mallory")), "was not accepted"),
            ]
            for (name, options, expected) in cases {
                let error = await expectRPCError {
                    _ = try await harness.echo.get(.with { $0.text = "x" }, options: options)
                }
                #expect(error?.code == .unauthenticated, "\(name)")
                #expect(error?.message.contains(expected) == true, "\(name): \(error?.message ?? "")")
            }
            for (kind, error) in await InterceptorTests.callEveryKind(harness.echo) {
                #expect(error?.code == .unauthenticated, "\(kind)")
            }
            #expect(!harness.probe.events.contains { $0.hasPrefix("handling") })
        }
    }

    @Test func aKnownCallerWithoutPermissionIsDenied() async throws {
        try await withHarness(interceptors: [Self.authenticator()]) { harness in
            let options = CallOptions(credentials: .bearerToken("token-bob"))
            let error = await expectRPCError {
                _ = try await harness.echo.collect(options: options) { writer in
                    try await writer.write(.with { $0.text = "c" })
                }
            }
            #expect(error?.code == .permissionDenied)
            #expect(error?.message == "bob may not call /grpcsimple.echo.Echo/Collect")
            let allowed = try await harness.echo.get(.with { $0.text = "ok" }, options: options)
            #expect(allowed.text == "ok")
        }
    }

    @Test func exemptServicesNeedNoToken() async throws {
        try await withHarness(interceptors: [Self.authenticator()]) { harness in
            let naming = Grpcsimple_Naming_NamingClient(channel: harness.channel)
            let reply = try await naming.useNested(.with { $0.value = "v" })
            #expect(reply.text == "inner:v")
        }
    }

    @Test func theTokenClosureRunsForEachCallSoTokensCanBeRefreshed() async throws {
        let seen = EventLog()
        let counter = NIOLockedValueBox(0)
        var configuration = GRPCChannel.Configuration()
        configuration.credentials = .bearerToken {
            let n = counter.withLockedValue { value -> Int in
                value += 1
                return value
            }
            return n == 1 ? "token-alice" : "token-bob"
        }
        try await withHarness(channelConfiguration: configuration, interceptors: [Self.authenticator(seen: seen)]) {
            harness in
            _ = try await harness.echo.get(.with { $0.text = "1" })
            for try await _ in harness.echo.expand(.with { $0.text = "2" }) {}
        }
        #expect(seen.events == ["token-alice", "token-bob"])
    }

    @Test func aCallsOwnCredentialsWinOverTheChannels() async throws {
        var configuration = GRPCChannel.Configuration()
        configuration.credentials = .bearerToken("token-mallory")
        try await withHarness(channelConfiguration: configuration, interceptors: [Self.authenticator()]) { harness in
            let error = await expectRPCError { _ = try await harness.echo.get(.with { $0.text = "x" }) }
            #expect(error?.code == .unauthenticated)
            let options = CallOptions(metadata: ["echo-principal": "1"], credentials: .bearerToken("token-alice"))
            let stream = harness.echo.expand(.with { $0.text = "a" }, options: options)
            for try await _ in stream {}
            let trailers = try await stream.trailingMetadata
            #expect(trailers["principal"] == "alice")
        }
    }

    @Test func credentialsThatFailToLoadFailTheCallBeforeItIsSent() async throws {
        struct TokenStoreDown: Error {}
        var configuration = GRPCChannel.Configuration()
        configuration.credentials = CallCredentials { _ in throw TokenStoreDown() }
        try await withHarness(channelConfiguration: configuration, interceptors: [Self.authenticator()]) { harness in
            let error = await expectRPCError { _ = try await harness.echo.get(.with { $0.text = "x" }) }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("could not get the call credentials for /grpcsimple.echo.Echo/Get") == true)
            let rejected = CallOptions(
                credentials: CallCredentials { _ in throw RPCError(.unauthenticated, "log in first") })
            let streamError = await expectRPCError {
                try await harness.echo.update(options: rejected) { writer, responses in
                    try await writer.write(.with { $0.text = "b" })
                    for try await _ in responses {}
                }
            }
            #expect(streamError?.code == .unauthenticated)
            #expect(streamError?.message == "log in first")
            #expect(!harness.probe.events.contains { $0.hasPrefix("handling") })
        }
    }

    /// As grpc-go's token credentials: no secret goes in plaintext over the network. The
    /// target is a TEST-NET-1 address (RFC 5737): nothing may be sent there, and nothing is.
    @Test func credentialsAreNotSentInPlaintextToAnotherMachine() async throws {
        var configuration = GRPCChannel.Configuration()
        configuration.credentials = .bearerToken("token-alice")
        let channel = try GRPCChannel(host: "192.0.2.1", port: 50051, configuration: configuration)
        let echo = Grpcsimple_Echo_EchoClient(channel: channel)
        let error = try await withTimeout(seconds: 5) {
            await expectRPCError { _ = try await echo.get(.with { $0.text = "x" }) }
        }
        #expect(error?.code == .unauthenticated)
        #expect(
            error?.message.contains(
                "will not send the credentials of /grpcsimple.echo.Echo/Get in plaintext to 192.0.2.1:50051") == true,
            "\(String(describing: error))")
        let streamError = try await withTimeout(seconds: 5) {
            await expectRPCError { for try await _ in echo.expand(.with { $0.text = "x" }) {} }
        }
        #expect(streamError?.code == .unauthenticated)

        // Metadata that is no secret may go anyway: the call then fails to connect instead.
        let open = CallOptions(
            timeout: .milliseconds(500),
            credentials: CallCredentials(requiresTransportSecurity: false) { _ in ["x-tenant": "blue"] })
        let connectError = try await withTimeout(seconds: 10) {
            await expectRPCError { _ = try await echo.get(.with { $0.text = "x" }, options: open) }
        }
        #expect(
            connectError?.code == .unavailable || connectError?.code == .deadlineExceeded,
            "\(String(describing: connectError))")
        await channel.close()
    }

    @Test func thisMachineCountsAsSecureForCredentials() {
        for target in [
            "127.0.0.1:1", "127.8.9.10:1", "localhost:1", "[::1]:1", "unix:/tmp/x.sock", "dns:///localhost:1",
            "ipv4:127.0.0.1:1,127.0.0.2:2", "ipv6:[::1]:1", "unix-abstract:grpc",
        ] {
            #expect(ChannelTarget(parsing: target).isThisMachine == true, "\(target)")
        }
        for target in [
            "192.0.2.1:1", "example.com:1", "[2001:db8::1]:1", "127.evil.example:1", "127.0.0.1.example:1",
            "api.localhost:1", "ipv4:127.0.0.1:1,10.0.0.1:1", "custom:anything",
        ] {
            #expect(ChannelTarget(parsing: target).isThisMachine == false, "\(target)")
        }
    }

    @Test func bearerTokenParsing() {
        #expect(BearerTokenAuthenticator.bearerToken(in: "Bearer abc") == "abc")
        #expect(BearerTokenAuthenticator.bearerToken(in: "bearer abc") == "abc")
        #expect(BearerTokenAuthenticator.bearerToken(in: "Bearer   abc") == "abc")
        #expect(BearerTokenAuthenticator.bearerToken(in: "Bearer") == nil)
        #expect(BearerTokenAuthenticator.bearerToken(in: "Basic abc") == nil)
        #expect(BearerTokenAuthenticator.bearerToken(in: "") == nil)
    }
}
