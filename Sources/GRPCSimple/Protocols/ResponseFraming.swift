import NIOCore
import NIOHPACK

/// How a response is written in each protocol a call can arrive in: its head, its message
/// bodies, and its end.
///
/// gRPC ends with HTTP/2 trailers. gRPC-Web and Connect streaming end in the body, with one
/// last envelope flagged 0x80 (gRPC-Web: the trailers as HTTP/1 header lines) or 0x02
/// (Connect: JSON), then an empty trailer section that only ends the stream. A Connect unary
/// response is plain HTTP: written whole at the end (`unaryResponse`).
struct ResponseFraming: Sendable {
    let format: CallFormat
    /// The request's origin when the CORS policy allows it: every response names it.
    let allowedOrigin: String?

    /// The flag of gRPC-Web's trailers envelope.
    static let grpcWebTrailersFlag: UInt8 = 0x80
    /// The flag of Connect's end-of-stream envelope.
    static let connectEndStreamFlag: UInt8 = 0x02

    /// The response headers of a call that sends messages.
    func head(encoding: CompressionAlgorithm, metadata: Metadata) -> HPACKHeaders {
        if self.allowedOrigin == nil, metadata.isEmpty, encoding == .identity {
            // Most calls: a block made once per format, not per call.
            return Self.plainHeads[self.format.index]
        }
        var headers: HPACKHeaders = [":status": "200", "content-type": self.format.responseContentType]
        let names = self.format.compressionHeaders
        if encoding != .identity {
            headers.add(name: names.encoding, value: encoding.name)
        }
        headers.add(name: names.acceptEncoding, value: CompressionAlgorithm.acceptEncoding)
        if let origin = self.allowedOrigin {
            headers.add(contentsOf: CORSPolicy.responseHeaders(origin: origin, exposing: metadata.map(\.key)))
        }
        GRPCHeaders.append(metadata, to: &headers)
        return headers
    }

    /// The head of a call with no metadata, no compression and no CORS, per format
    /// (`CallFormat.index`).
    private static let plainHeads: [HPACKHeaders] = CallFormat.all.map { format in
        if format == .grpc { return GRPCHeaders.responseHead }
        let names = format.compressionHeaders
        return [
            ":status": "200", "content-type": format.responseContentType,
            names.acceptEncoding: CompressionAlgorithm.acceptEncoding,
        ]
    }

    /// The end-of-stream envelope of a call that succeeded with no trailers, per format.
    private static let okEndsOfStream: [ByteBuffer?] = CallFormat.all.map { format in
        ResponseFraming(format: format, allowedOrigin: nil).makeEndOfStream(
            status: .ok, trailers: [:], allocator: ByteBufferAllocator())
    }

    /// A chunk of response body as it goes on the wire: base64 for gRPC-Web text.
    func body(_ bytes: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        self.format.wireProtocol == .grpcWebText ? Base64.encodePadded(bytes, allocator: allocator) : bytes
    }

    /// The envelope that ends a gRPC-Web or Connect streaming response (already through
    /// `body`); nil for gRPC, whose status goes in HTTP/2 trailers.
    func endOfStream(status: Status, trailers: Metadata, allocator: ByteBufferAllocator) -> ByteBuffer? {
        if status == .ok, trailers.isEmpty {
            return Self.okEndsOfStream[self.format.index]
        }
        return self.makeEndOfStream(status: status, trailers: trailers, allocator: allocator)
    }

    private func makeEndOfStream(status: Status, trailers: Metadata, allocator: ByteBufferAllocator) -> ByteBuffer? {
        let payload: ByteBuffer
        let flag: UInt8
        switch self.format.wireProtocol {
        case .grpc, .connectUnary:
            return nil
        case .grpcWeb, .grpcWebText:
            var lines = ""
            for (name, value, _) in GRPCHeaders.trailers(status: status, metadata: trailers) {
                lines += name + ": " + value + "\r\n"
            }
            payload = ByteBuffer(string: lines)
            flag = Self.grpcWebTrailersFlag
        case .connectStreaming:
            payload = ByteBuffer(string: ConnectError.endOfStreamJSON(status, trailers: trailers))
            flag = Self.connectEndStreamFlag
        }
        var envelope = allocator.buffer(capacity: Envelope.prefixLength + payload.readableBytes)
        envelope.writeInteger(flag)
        envelope.writeInteger(UInt32(payload.readableBytes))
        envelope.writeImmutableBuffer(payload)
        return self.body(envelope, allocator: allocator)
    }

    /// A whole Connect unary response: the message (`payload`, compressed with `encoding`)
    /// on success, Connect's JSON error with the code's HTTP status otherwise; the call's
    /// trailers as `trailer-` headers.
    func unaryResponse(
        status: Status,
        payload: ByteBuffer?,
        encoding: CompressionAlgorithm,
        initialMetadata: Metadata,
        trailers: Metadata,
        httpStatus: Int? = nil
    ) -> (HPACKHeaders, ByteBuffer) {
        var headers: HPACKHeaders
        let body: ByteBuffer
        if status.code == .ok, let payload {
            // The head's fields but for the length: one block per format, copied.
            headers = Self.plainHeads[self.format.index]
            if encoding != .identity {
                headers.add(name: "content-encoding", value: encoding.name)
            }
            body = payload
        } else {
            headers = HPACKHeaders()
            let status =
                status.code == .ok
                ? Status(code: .internal, message: "the handler returned no response message") : status
            headers.add(name: ":status", value: String(httpStatus ?? ConnectError.httpStatus(status.code)))
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "accept-encoding", value: CompressionAlgorithm.acceptEncoding)
            body = ByteBuffer(string: ConnectError.json(status))
        }
        headers.add(name: "content-length", value: String(body.readableBytes))
        GRPCHeaders.append(initialMetadata, to: &headers)
        var trailerHeaders = HPACKHeaders()
        GRPCHeaders.append(trailers, to: &trailerHeaders)
        for (name, value, _) in trailerHeaders {
            headers.add(name: "trailer-" + name, value: value)
        }
        if let origin = self.allowedOrigin {
            let names = initialMetadata.map(\.key) + trailers.map { "trailer-" + $0.key }
            headers.add(contentsOf: CORSPolicy.responseHeaders(origin: origin, exposing: names))
        }
        return (headers, body)
    }

    /// The answer to a request rejected before it reached a handler, in the request's protocol.
    func rejection(_ status: Status, httpStatus: Int, allocator: ByteBufferAllocator) -> (HPACKHeaders, ByteBuffer?) {
        switch self.format.wireProtocol {
        case .grpc:
            var block: HPACKHeaders = [":status": String(httpStatus), "content-type": self.format.responseContentType]
            block.add(contentsOf: GRPCHeaders.trailers(status: status, metadata: [:]))
            return (block, nil)
        case .connectUnary:
            // An HTTP-level refusal (415 for a content-type the method does not take) keeps its
            // own HTTP status; the JSON still says why.
            return self.unaryResponse(
                status: status, payload: nil, encoding: .identity, initialMetadata: [:], trailers: [:],
                httpStatus: httpStatus == 200 ? nil : httpStatus)
        case .grpcWeb, .grpcWebText, .connectStreaming:
            let headers = self.head(encoding: .identity, metadata: [:])
            return (headers, self.endOfStream(status: status, trailers: [:], allocator: allocator))
        }
    }
}
