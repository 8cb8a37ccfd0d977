import NIOCore
import NIOHPACK

/// The end of a call in the protocols whose status travels in the body: gRPC-Web and Connect
/// streaming write a last envelope, and a Connect unary call is answered whole once its
/// status is known.
extension ServerStream {
    /// Keeps the response of a Connect unary call until its status is known: the payload,
    /// compressed whole when the response is.
    func holdUnaryResponse(_ envelope: ByteBuffer, tracked: Bool) {
        if tracked { self.backpressure?.complete(envelope.readableBytes) }
        var payload = envelope
        payload.moveReaderIndex(forwardBy: Envelope.prefixLength)
        if self.responseEncoding != .identity, let connection = self.connection {
            do {
                payload = try self.responseEncoding.compress(payload, allocator: connection.allocator)
            } catch {
                self.abort(status: Status(error))
                return
            }
        }
        self.record?.sent(envelopeBytes: payload.readableBytes)
        self.unaryResponse = payload
    }

    /// Ends a gRPC-Web or Connect call: the status is in the body (or, for Connect unary, is
    /// the whole response), and an empty trailer section ends the stream.
    func writeStatusInBody(_ status: Status, trailers: Metadata, headersSent: Bool) {
        guard let connection = self.connection else { return }
        self.record?.end(status: status, context: self.context)
        if self.framing.format.wireProtocol == .connectUnary {
            let (headers, body) = self.framing.unaryResponse(
                status: status, payload: self.unaryResponse, encoding: self.responseEncoding,
                initialMetadata: self.context.initialMetadata, trailers: trailers)
            self.unaryResponse = nil
            connection.sendHeaders(streamID: self.id, headers)
            connection.sendData(streamID: self.id, body, trackedBytes: 0, backpressure: nil)
        } else {
            if !headersSent {
                connection.sendHeaders(streamID: self.id, self.responseHeaders())
            }
            if let end = self.framing.endOfStream(status: status, trailers: trailers, allocator: connection.allocator) {
                connection.sendData(streamID: self.id, end, trackedBytes: 0, backpressure: nil)
            }
        }
        connection.sendTrailers(streamID: self.id, [:], resetsOpenRequest: self.machine.request == .open)
        self.connection = nil
    }
}
