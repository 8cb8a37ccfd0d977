import NIOCore
import SwiftProtobuf

/// The four kinds of call. Generated clients call these with their methods'
/// descriptors; you can too, with any `MethodDescriptor`.
extension GRPCChannel {
    /// Sends one request and waits for the response.
    public func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        request: Request,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self
    ) async throws -> Response {
        try await self.unaryWithMetadata(method, request: request, options: options, responseType: responseType).message
    }

    /// Like `unary`, also returning the response's metadata and trailing metadata.
    public func unaryWithMetadata<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        request: Request,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self
    ) async throws -> UnaryResponse<Response> {
        try await ClientCallStart(channel: self, method: method, options: options).unary(
            request, responseType: Response.self)
    }

    /// Sends one request; the responses arrive as an async sequence.
    public func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        request: Request,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self
    ) -> ResponseStream<Response> {
        ResponseStream(call: ClientCall(channel: self, method: method, options: options, request: request))
    }

    /// Sends the requests your closure writes, then waits for the single response.
    public func clientStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self,
        requests: (RequestWriter<Request>) async throws -> Void
    ) async throws -> Response {
        try await self.runClientStreaming(method, options: options, readMetadata: false, requests: requests).message
    }

    /// Like `clientStreaming`, also returning the response's metadata and trailing metadata.
    public func clientStreamingWithMetadata<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self,
        requests: (RequestWriter<Request>) async throws -> Void
    ) async throws -> UnaryResponse<Response> {
        try await self.runClientStreaming(method, options: options, readMetadata: true, requests: requests)
    }

    /// A client-streaming call; its metadata is read (two more hops to the loop) only
    /// when `readMetadata`.
    private func runClientStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        options: CallOptions,
        readMetadata: Bool,
        requests: (RequestWriter<Request>) async throws -> Void
    ) async throws -> UnaryResponse<Response> {
        try GRPCHeaders.checkMetadata(options.metadata, calling: method)
        let call = ClientCall(channel: self, method: method, options: options)
        return try await withTaskCancellationHandler {
            do {
                try await requests(RequestWriter(call: call))
            } catch {
                call.cancel()
                throw error
            }
            call.closeSend()
            guard let payload = try await call.receive() else {
                throw RPCError(.internal, "\(method) should return one response message; the server sent none")
            }
            let response = try ProtobufCodec.decode(Response.self, from: payload, what: "the response of \(method)")
            call.startGate?.started?.observers.response(response)
            if try await call.receive() != nil {
                throw RPCError(.internal, "\(method) should return one response message; the server sent more")
            }
            guard readMetadata else { return UnaryResponse(message: response) }
            return UnaryResponse(
                message: response,
                metadata: try await call.metadata(),
                trailingMetadata: try await call.trailingMetadata()
            )
        } onCancel: {
            call.cancel()
        }
    }

    /// Runs `body` with a writer for the requests and the stream of responses. The
    /// request stream ends when `body` returns (or at `finish()`); a call still running
    /// then is cancelled.
    public func bidirectionalStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message, Output>(
        _ method: MethodDescriptor,
        options: CallOptions = .defaults,
        responseType: Response.Type = Response.self,
        _ body: (RequestWriter<Request>, ResponseStream<Response>) async throws -> Output
    ) async throws -> Output {
        try GRPCHeaders.checkMetadata(options.metadata, calling: method)
        let call = ClientCall(channel: self, method: method, options: options)
        return try await withTaskCancellationHandler {
            do {
                let output = try await body(RequestWriter(call: call), ResponseStream(call: call))
                call.closeSend()
                return output
            } catch {
                call.cancel()
                throw error
            }
        } onCancel: {
            call.cancel()
        }
    }
}
