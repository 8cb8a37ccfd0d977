import NIOCore
import NIOHPACK
import TestServices
import Testing

@testable import GRPCSimple

/// `ClientStreamStateMachine`, `ResponseHead` and `RequestHead`: the pure decisions of
/// one call on each side, without sockets.
@Suite struct ClientStreamStateMachineTests {
    typealias Machine = ClientStreamStateMachine

    @Test func aUnaryCallBuffersItsRequestUntilItStartsThenReceivesHeadersMessagesAndTrailers() {
        var machine = Machine()
        #expect(machine.sendMessage(end: true) == .buffer)
        #expect(machine.request == .pending(ended: true))
        #expect(machine.sendMessage(end: false) == .drop, "nothing after the last request")
        #expect(machine.start() == .start(endStream: true))
        #expect(machine.request == .closed)
        #expect(machine.start() == .none, "starts once")
        #expect(machine.receiveHeaders(endStream: false) == .readHead)
        machine.headReceived()
        #expect(machine.receiveData() == .deliver)
        #expect(machine.receiveHeaders(endStream: true) == .readTrailers)
        #expect(machine.finish() == true)
        #expect(machine.isFinished)
        #expect(machine.finish() == false, "finishes once")
        #expect(machine.receiveData() == .drop)
        #expect(machine.receiveHeaders(endStream: true) == .drop)
    }

    @Test func aStreamingCallGathersMessagesOnceStartedAndEndsItsRequests() {
        var machine = Machine()
        #expect(machine.start() == .start(endStream: false))
        #expect(machine.request == .open)
        #expect(machine.sendMessage(end: false) == .gather)
        #expect(machine.sendMessage(end: true) == .gatherAndEnd)
        #expect(machine.request == .closed)
        #expect(machine.sendMessage(end: false) == .drop)
        #expect(machine.closeRequest() == .none)
    }

    @Test func closingTheRequestsBeforeOrAfterTheStart() {
        var early = Machine()
        #expect(early.closeRequest() == .none)
        #expect(early.start() == .start(endStream: true), "the end is remembered until the start")

        var late = Machine()
        _ = late.start()
        #expect(late.closeRequest() == .writeEnd)
        #expect(late.closeRequest() == .none)

        var finished = Machine()
        _ = finished.start()
        _ = finished.finish()
        #expect(finished.closeRequest() == .none, "the call is over: no END_STREAM")
    }

    @Test func aCallThatEndedBeforeItsStartDoesNotStart() {
        var machine = Machine()
        _ = machine.finish()
        #expect(machine.start() == .none)
        #expect(machine.sendMessage(end: true) == .drop)
    }

    @Test func protocolViolationsByTheServer() {
        var dataFirst = Machine()
        _ = dataFirst.start()
        #expect(dataFirst.receiveData() == .protocolViolation("the server sent data before headers"))

        var twoHeaders = Machine()
        _ = twoHeaders.start()
        _ = twoHeaders.receiveHeaders(endStream: false)
        twoHeaders.headReceived()
        #expect(
            twoHeaders.receiveHeaders(endStream: false)
                == .protocolViolation("the server sent a second header block that does not end the stream")
        )
    }

    @Test func onlyAnUnansweredCallCanStartAgain() {
        var unanswered = Machine()
        _ = unanswered.sendMessage(end: true)
        _ = unanswered.start()
        #expect(unanswered.prepareForRetry() == true)
        #expect(unanswered.request == .pending(ended: true))
        #expect(unanswered.start() == .start(endStream: true))

        var answered = Machine()
        _ = answered.sendMessage(end: true)
        _ = answered.start()
        _ = answered.receiveHeaders(endStream: false)
        answered.headReceived()
        #expect(answered.prepareForRetry() == false, "a response arrived")

        // Requests still being written: it waits for its new stream with its requests open
        // (whether it kept the messages to send again is `CallAttempts`'s business).
        var streaming = Machine()
        _ = streaming.start()
        #expect(streaming.prepareForRetry() == true)
        #expect(streaming.request == .pending(ended: false))

        var finished = Machine()
        _ = finished.start()
        _ = finished.finish()
        #expect(finished.prepareForRetry() == false)
    }

    // MARK: ResponseHead

    @Test func responseHeadReadsHeadersTrailersOnlyAndFailures() {
        let ok: HPACKHeaders = [
            ":status": "200", "content-type": "application/grpc+proto", "grpc-encoding": "gzip", "x-k": "v",
        ]
        #expect(ResponseHead.parse(ok, endStream: false) == .headers(metadata: ["x-k": "v"], encoding: .gzip))

        let trailersOnly: HPACKHeaders = [
            ":status": "200", "content-type": "application/grpc", "grpc-status": "5", "grpc-message": "no%20such",
        ]
        #expect(
            ResponseHead.parse(trailersOnly, endStream: true)
                == .trailersOnly(status: Status(code: .notFound, message: "no such"), metadata: [:]))

        let html: HPACKHeaders = [":status": "503", "content-type": "text/html"]
        #expect(
            ResponseHead.parse(html, endStream: false)
                == .invalid(RPCError(.unavailable, "the server answered HTTP 503, not gRPC"), resetStream: true))

        let notGRPC: HPACKHeaders = [":status": "200", "content-type": "application/json"]
        #expect(
            ResponseHead.parse(notGRPC, endStream: false)
                == .invalid(
                    RPCError(.unknown, "the server answered with content-type 'application/json', not gRPC"),
                    resetStream: true)
        )

        let unknownEncoding: HPACKHeaders = [
            ":status": "200", "content-type": "application/grpc", "grpc-encoding": "br",
        ]
        #expect(
            ResponseHead.parse(unknownEncoding, endStream: false)
                == .invalid(
                    RPCError(.internal, "the server used grpc-encoding 'br', which this client does not support"),
                    resetStream: true)
        )

        let badBinary: HPACKHeaders = [":status": "200", "content-type": "application/grpc", "x-bin": "!!"]
        guard case .invalid(let error, true) = ResponseHead.parse(badBinary, endStream: false) else {
            Issue.record("a -bin value that is not base64 must fail")
            return
        }
        #expect(error.code == .internal)
    }

    // MARK: RequestHead

    static func request(_ extra: [(String, String)] = [], path: String = "/grpcsimple.echo.Echo/Get") -> HPACKHeaders {
        var headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": path, "content-type": "application/grpc", "te": "trailers",
        ]
        for (name, value) in extra { headers.add(name: name, value: value) }
        return headers
    }

    static let router: Router = {
        var router = Router()
        router.unary(MethodDescriptor(service: "grpcsimple.echo.Echo", name: "Get", kind: .unary)) {
            (request: Grpcsimple_Echo_EchoRequest, _) in request
        }
        return router
    }()

    @Test func requestHeadReadsPathMetadataTimeoutAndEncoding() throws {
        let headers = Self.request([
            ("grpc-timeout", "2S"), ("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip"), ("x-k", "v"),
        ])
        guard case .call(let head) = RequestHead.parse(headers, router: Self.router) else {
            Issue.record("the request was rejected")
            return
        }
        #expect(head.path == "/grpcsimple.echo.Echo/Get")
        #expect(head.handler.method.name == "Get")
        #expect(head.timeoutNanoseconds == 2_000_000_000)
        #expect(head.encoding == .gzip)
        #expect(head.acceptEncoding == "gzip")
        #expect(head.metadata == ["x-k": "v"])
    }

    @Test func requestHeadRejectsWhatTheSpecRejects() {
        func rejection(_ headers: HPACKHeaders) -> RequestHead.Rejection? {
            if case .reject(let rejection) = RequestHead.parse(headers, router: Self.router) { return rejection }
            return nil
        }
        var put = Self.request()
        put.replaceOrAdd(name: ":method", value: "PUT")
        #expect(rejection(put)?.httpStatus == 405)

        var text = Self.request()
        text.replaceOrAdd(name: "content-type", value: "text/plain")
        #expect(rejection(text)?.httpStatus == 415)

        #expect(
            rejection(Self.request(path: "/grpcsimple.echo.Echo/Nope"))?.status
                == Status(code: .unimplemented, message: "unknown method Nope for service grpcsimple.echo.Echo"))
        #expect(
            rejection(Self.request(path: "/no.Such/Get"))?.status
                == Status(code: .unimplemented, message: "unknown service no.Such"))
        #expect(rejection(Self.request(path: "nonsense"))?.status.message == "malformed method path 'nonsense'")

        let brotli = rejection(Self.request([("grpc-encoding", "br")]))
        #expect(brotli?.status.code == .unimplemented)
        #expect(brotli?.acceptEncoding == "gzip,deflate,identity")

        #expect(
            rejection(Self.request([("grpc-timeout", "soon")]))?.status
                == Status(code: .internal, message: "malformed grpc-timeout 'soon'"))
        #expect(rejection(Self.request([("x-bin", "***")]))?.status.code == .internal)
    }

    @Test func aRejectionIsAnsweredTrailersOnly() {
        let framing = ResponseFraming(format: .grpc, allowedOrigin: nil)
        let (headers, body) = framing.rejection(
            Status(code: .internal, message: "bad type"), httpStatus: 415, allocator: ByteBufferAllocator())
        #expect(body == nil)
        #expect(headers.first(name: ":status") == "415")
        #expect(headers.first(name: "content-type") == "application/grpc")
        #expect(headers.first(name: "grpc-status") == "13")
        #expect(headers.first(name: "grpc-message") == "bad type")
    }
}
