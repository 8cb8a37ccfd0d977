import GRPCSimpleHTTP2
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Starting calls: a new request's headers are read (`RequestHead`), and the request is
/// answered at once (a rejection in its protocol, a CORS preflight) or becomes a call with a
/// `ServerStream` and a handler task.
extension ServerConnectionHandler {
    func openStream(id: UInt32, headers: HPACKHeaders, endStream: Bool) {
        self.machine.peerOpenedStream(HTTP2StreamID(Int(id)))
        switch RequestHead.parse(headers, router: self.configuration.router, cors: self.configuration.cors) {
        case .preflight(let response):
            self.transport.sendTrailers(streamID: id, trailers: response)
            if !endStream {
                self.transport.resetStream(streamID: id, code: .noError)
            }
            self.machine.responseSent()
            self.requestFlush()
        case .reject(let rejection):
            self.answer(streamID: id, rejection, endStream: endStream)
            self.configuration.observer?.callRejected(
                path: headers.first(name: ":path") ?? "", status: rejection.status, peer: self.peer,
                metadata: headers.first(name: "traceparent"))
            self.configuration.logger.debug(
                "rejected call",
                metadata: [
                    "peer": "\(self.peer)", "path": "\(headers.first(name: ":path") ?? "")",
                    "status": "\(rejection.status.code)",
                ]
            )
        case .call(let head):
            self.startCall(id: id, head: head, endStream: endStream)
        }
    }

    /// Answers a request that reaches no handler, in its protocol: trailers-only for gRPC,
    /// headers and a status in the body for gRPC-Web and Connect.
    private func answer(streamID id: UInt32, _ rejection: RequestHead.Rejection, endStream: Bool) {
        let framing = ResponseFraming(format: rejection.format, allowedOrigin: rejection.allowedOrigin)
        var (headers, body) = framing.rejection(
            rejection.status, httpStatus: rejection.httpStatus, allocator: self.allocator)
        if let accept = rejection.acceptEncoding {
            headers.add(name: rejection.format.compressionHeaders.acceptEncoding, value: accept)
        }
        if let body {
            self.transport.sendHeaders(streamID: id, headers: headers)
            self.transport.sendData(streamID: id, data: body)
            self.transport.sendTrailers(streamID: id, trailers: [:])
        } else {
            self.transport.sendTrailers(streamID: id, trailers: headers)
        }
        if !endStream {
            self.transport.resetStream(streamID: id, code: .noError)
        }
        self.machine.responseSent()
        self.requestFlush()
    }

    func startCall(id: UInt32, head: RequestHead, endStream: Bool) {
        let deadline = head.timeoutNanoseconds.map { ContinuousClock.now.advanced(by: .nanoseconds($0)) }
        if let lookup = self.peerCertificateLookup {
            self.peerCertificateLookup = nil
            self.peerCertificate = lookup()
        }
        let context = ServerContext(
            method: head.handler.method,
            metadata: head.metadata,
            deadline: deadline,
            peer: self.peer,
            requestCompression: head.encoding,
            peerCertificate: self.peerCertificate,
            logger: self.configuration.logger
        )
        let stream = ServerStream(
            id: id,
            path: head.path,
            kind: head.handler.kind,
            context: context,
            connection: self,
            maximumMessageSize: self.configuration.maximumReceiveMessageSize,
            windowSize: self.configuration.streamWindowSize,
            requestEncoding: head.encoding,
            acceptEncoding: head.acceptEncoding,
            framing: ResponseFraming(format: head.format, allowedOrigin: head.allowedOrigin)
        )
        if let observer = self.configuration.observer {
            stream.record = observer.callStarted(
                context: context, metadata: head.metadata, methodMetrics: head.handler.metrics,
                addresses: self.connectionAddresses)
        }
        self.streams[id] = stream
        if let action = self.machine.streamOpened() {
            self.perform(action)
        }
        if let message = head.queryMessage {
            // A Connect GET: the message came in the query, and the request has no body.
            stream.receiveData(message, endStream: true, flowControlledLength: 0)
        } else if endStream {
            stream.receiveEnd()
        }

        let loop = self.eventLoop
        if let timeout = head.timeoutNanoseconds {
            let boundStream = NIOLoopBound(stream, eventLoop: loop)
            stream.deadlineTimer = loop.scheduleTask(in: .nanoseconds(timeout)) {
                boundStream.value.deadlineExpired()
            }
        }
        let call = ServerCall(
            stream: NIOLoopBound(stream, eventLoop: loop),
            eventLoop: loop,
            allocator: self.allocator,
            backpressure: stream.backpressure,
            path: head.path,
            executor: self.calls.executor,
            codec: head.format.codec
        )
        self.calls.start(head.handler, call: call, for: stream)
    }
}
