import GRPCSimple
import NIOHPACK
import NIOHTTP2
import TestServices
import Testing

/// The rules of grpc/grpc `doc/PROTOCOL-HTTP2.md`, checked frame by frame against the
/// server, and the client's reading of responses that break them.
@Suite struct WireProtocolTests {
    static let get = "/grpcsimple.echo.Echo/Get"
    static let collect = "/grpcsimple.echo.Echo/Collect"

    /// An EchoRequest with `text`, encoded.
    static func echoRequest(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        precondition(bytes.count < 128)
        return [0x0A, UInt8(bytes.count)] + bytes
    }

    func withRawClient(_ body: (TestHarness, RawHTTP2Client) async throws -> Void) async throws {
        try await withHarness { harness in
            let raw = try await RawHTTP2Client.connect(port: harness.port)
            do {
                try await body(harness, raw)
                await raw.close()
            } catch {
                await raw.close()
                throw error
            }
        }
    }

    @Test func unaryResponseHasHeadersDataAndTrailers() async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: Self.get))
            try await raw.sendData(stream: 1, RawHTTP2Client.message(Self.echoRequest("hi")), endStream: true)
            let response = try await raw.response(stream: 1)
            let blocks = response.headerBlocks
            #expect(blocks.count == 2)
            #expect(blocks.first?.first(name: ":status") == "200")
            #expect(blocks.first?.first(name: "content-type") == "application/grpc")
            #expect(blocks.last?.first(name: "grpc-status") == "0")
            #expect(response.dataBytes == RawHTTP2Client.message(Self.echoRequest("hi")))
        }
    }

    @Test func messageSpanningManyDataFramesAndFramesCarryingSeveralMessages() async throws {
        try await withRawClient { _, raw in
            // One unary request split into single-byte DATA frames.
            try await raw.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: Self.get))
            let bytes = RawHTTP2Client.message(Self.echoRequest("split"))
            for (index, byte) in bytes.enumerated() {
                try await raw.sendData(stream: 1, [byte], endStream: index == bytes.count - 1)
            }
            let split = try await raw.response(stream: 1)
            #expect(split.headerBlocks.last?.first(name: "grpc-status") == "0")
            #expect(split.dataBytes == bytes)

            // Three client-streaming requests in one DATA frame.
            try await raw.sendHeaders(stream: 3, RawHTTP2Client.requestHeaders(path: Self.collect))
            let three = ["a", "b", "c"].flatMap { RawHTTP2Client.message(Self.echoRequest($0)) }
            try await raw.sendData(stream: 3, three, endStream: true)
            let joined = try await raw.response(stream: 3)
            #expect(joined.dataBytes == RawHTTP2Client.message(Self.echoRequest("a b c")))
        }
    }

    @Test func unaryWithTwoRequestsIsRejected() async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: Self.get))
            let two = RawHTTP2Client.message(Self.echoRequest("1")) + RawHTTP2Client.message(Self.echoRequest("2"))
            try await raw.sendData(stream: 1, two, endStream: true)
            let response = try await raw.response(stream: 1)
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "13")
            #expect(response.headerBlocks.last?.first(name: "grpc-message")?.contains("one request message") == true)
        }
    }

    /// A unary handler starts once its request has ended; a second message is reason
    /// enough to answer at once, without waiting for an END_STREAM that may never come.
    @Test func unaryWithASecondRequestIsRejectedBeforeTheRequestEnds() async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: Self.get))
            try await raw.sendData(stream: 1, RawHTTP2Client.message(Self.echoRequest("1")))
            try await raw.sendData(stream: 1, RawHTTP2Client.message(Self.echoRequest("2")))
            let response = try await raw.response(stream: 1)
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "13")
            #expect(response.headerBlocks.last?.first(name: "grpc-message")?.contains("one request message") == true)
        }
    }

    /// A unary request that never ends still meets its deadline, though its handler
    /// never started.
    @Test func unaryRequestThatNeverEndsMeetsItsDeadline() async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(
                stream: 1, RawHTTP2Client.requestHeaders(path: Self.get, [("grpc-timeout", "200m")]))
            try await raw.sendData(stream: 1, RawHTTP2Client.message(Self.echoRequest("never ends")))
            let response = try await raw.response(stream: 1)
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "4")
            #expect(response.dataBytes.isEmpty)
            // The connection still serves the next call.
            try await raw.sendHeaders(stream: 3, RawHTTP2Client.requestHeaders(path: Self.get))
            try await raw.sendData(stream: 3, RawHTTP2Client.message(Self.echoRequest("next")), endStream: true)
            #expect(try await raw.response(stream: 3).headerBlocks.last?.first(name: "grpc-status") == "0")
        }
    }

    /// Messages a handler streams within one event-loop tick go out together: fewer DATA
    /// frames than messages, every message whole and in order.
    @Test func streamedMessagesShareDataFramesInOrder() async throws {
        try await withRawClient { _, raw in
            let words = (0..<25).map { "w\($0)" }
            try await raw.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Expand"))
            try await raw.sendData(
                stream: 1, RawHTTP2Client.message(Self.echoRequest(words.joined(separator: " "))), endStream: true)
            let response = try await raw.response(stream: 1)
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "0")
            #expect(response.dataBytes == words.flatMap { RawHTTP2Client.message(Self.echoRequest($0)) })
            let dataFrames = response.filter { if case .data = $0 { true } else { false } }.count
            #expect(dataFrames < 5, "\(dataFrames) DATA frames for \(words.count) messages")
        }
    }

    @Test func unknownMethodIsATrailersOnlyResponse() async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(
                stream: 1, RawHTTP2Client.requestHeaders(path: "/grpcsimple.echo.Echo/Missing"), endStream: true)
            let response = try await raw.response(stream: 1)
            #expect(response.count == 1)
            let block = try #require(response.headerBlocks.first)
            #expect(block.first(name: ":status") == "200")
            #expect(block.first(name: "content-type") == "application/grpc")
            #expect(block.first(name: "grpc-status") == "12")
        }
    }

    @Test func nonGRPCContentTypeGets415() async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(
                stream: 1, RawHTTP2Client.requestHeaders(path: Self.get, [("content-type", "text/plain")]),
                endStream: true)
            let block = try #require(try await raw.response(stream: 1).headerBlocks.first)
            #expect(block.first(name: ":status") == "415")
            #expect(block.first(name: "grpc-status") == "13")
        }
    }

    @Test func nonPOSTGets405() async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(
                stream: 1, RawHTTP2Client.requestHeaders(path: Self.get, [(":method", "PUT")]), endStream: true)
            let block = try #require(try await raw.response(stream: 1).headerBlocks.first)
            #expect(block.first(name: ":status") == "405")
            // GET is Connect's, for methods without side effects: without its query, a 400.
            try await raw.sendHeaders(
                stream: 3, RawHTTP2Client.requestHeaders(path: Self.get, [(":method", "GET")]), endStream: true)
            let get = try #require(try await raw.response(stream: 3).headerBlocks.first)
            #expect(get.first(name: ":status") == "400")
        }
    }

    @Test func compressedMessageWithoutEncodingIsInternal() async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(stream: 1, RawHTTP2Client.requestHeaders(path: Self.get))
            try await raw.sendData(
                stream: 1, RawHTTP2Client.message(Self.echoRequest("z"), compressed: true), endStream: true)
            let response = try await raw.response(stream: 1)
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "13")
        }
    }

    @Test func unsupportedEncodingIsUnimplementedWithAcceptEncoding() async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(
                stream: 1, RawHTTP2Client.requestHeaders(path: Self.get, [("grpc-encoding", "snappy")]), endStream: true
            )
            let block = try #require(try await raw.response(stream: 1).headerBlocks.first)
            #expect(block.first(name: "grpc-status") == "12")
            #expect(block.first(name: "grpc-accept-encoding") == "gzip,deflate,identity")
        }
    }

    @Test func malformedTimeoutIsRejected() async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(
                stream: 1, RawHTTP2Client.requestHeaders(path: Self.get, [("grpc-timeout", "soon")]), endStream: true)
            let block = try #require(try await raw.response(stream: 1).headerBlocks.first)
            #expect(block.first(name: "grpc-status") == "13")
            #expect(block.first(name: "grpc-message")?.contains("grpc-timeout") == true)
        }
    }

    @Test(arguments: ["300m", "300000u", "99999999n", "1S"])
    func timeoutInEachShortUnitEndsTheCall(timeout: String) async throws {
        try await withRawClient { _, raw in
            let headers = RawHTTP2Client.requestHeaders(
                path: Self.get, [("grpc-timeout", timeout), ("sleep-ms", "20000")])
            try await raw.sendHeaders(stream: 1, headers)
            try await raw.sendData(stream: 1, RawHTTP2Client.message(Self.echoRequest("t")), endStream: true)
            let started = ContinuousClock.now
            let response = try await raw.response(stream: 1)
            #expect(response.headerBlocks.last?.first(name: "grpc-status") == "4")
            #expect(ContinuousClock.now - started < .seconds(15), "ended before the 20 s handler did")
        }
    }

    @Test(arguments: ["1M", "1H", "99999999S"])
    func timeoutInLongUnitsLetsTheCallFinish(timeout: String) async throws {
        try await withRawClient { _, raw in
            try await raw.sendHeaders(
                stream: 1, RawHTTP2Client.requestHeaders(path: Self.get, [("grpc-timeout", timeout)]))
            try await raw.sendData(stream: 1, RawHTTP2Client.message(Self.echoRequest("t")), endStream: true)
            #expect(try await raw.response(stream: 1).headerBlocks.last?.first(name: "grpc-status") == "0")
        }
    }

    @Test func clientSendsUserAgentTeAndTimeout() async throws {
        try await withHarness { harness in
            let response = try await harness.channel.unaryWithMetadata(
                Grpcsimple_Echo_Echo.Method.get,
                request: Grpcsimple_Echo_EchoRequest.with { $0.text = "ua" },
                options: CallOptions(timeout: .seconds(30), metadata: ["echo-request-headers": "1"]),
                responseType: Grpcsimple_Echo_EchoResponse.self
            )
            #expect(response.trailingMetadata["seen-user-agent"]?.hasPrefix("grpc-swift-simple/") == true)
            #expect(response.trailingMetadata["seen-deadline"] == "yes")
        }
    }

    @Test(arguments: [(404, StatusCode.unimplemented), (503, .unavailable), (401, .unauthenticated), (500, .unknown)])
    func clientMapsHTTPStatusWithoutGRPCStatus(httpStatus: Int, expected: StatusCode) async throws {
        let server = try await RawHTTP2Server.start(
            headers: [":status": String(httpStatus), "content-type": "text/html"], body: Array("<html>".utf8))
        let channel = try GRPCChannel(host: "127.0.0.1", port: server.port)
        let error = await expectRPCError {
            _ = try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "x" })
        }
        #expect(error?.code == expected)
        await channel.close()
        await server.stop()
    }

    @Test func clientRejectsNonGRPCContentTypeOn200() async throws {
        let server = try await RawHTTP2Server.start(
            headers: [":status": "200", "content-type": "text/plain"], body: Array("hello".utf8))
        let channel = try GRPCChannel(host: "127.0.0.1", port: server.port)
        let error = await expectRPCError {
            _ = try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "x" })
        }
        #expect(error?.code == .unknown)
        #expect(error?.message.contains("text/plain") == true)
        await channel.close()
        await server.stop()
    }

    @Test func clientDecodesPercentEncodedMessageFromTrailersOnly() async throws {
        let server = try await RawHTTP2Server.start(headers: [
            ":status": "200", "content-type": "application/grpc",
            "grpc-status": "3", "grpc-message": "bad %E2%9C%93 input%", "x-extra": "1",
        ])
        let channel = try GRPCChannel(host: "127.0.0.1", port: server.port)
        let error = await expectRPCError {
            _ = try await Grpcsimple_Echo_EchoClient(channel: channel).get(.with { $0.text = "x" })
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "bad ✓ input%")
        #expect(error?.trailingMetadata["x-extra"] == "1")
        await channel.close()
        await server.stop()
    }
}
