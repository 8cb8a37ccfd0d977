import Foundation
import GRPCSimple
import SwiftProtobuf

/// `grpc.testing.TestService` as grpc/grpc `doc/interop-test-descriptions.md` says an
/// interop server behaves: payloads of the requested sizes, echoed metadata and statuses,
/// compressed responses on request, and checks that requests said to be compressed were.
public struct InteropTestService: Grpc_Testing_TestServiceProvider {
    /// The service; stateless.
    public init() {}

    /// EmptyCall: an empty response.
    public func emptyCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        Grpc_Testing_Empty()
    }

    /// UnaryCall: a payload of the requested size, the requested status, metadata echoed.
    public func unaryCall(request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws
        -> Grpc_Testing_SimpleResponse
    {
        Self.echoMetadata(context)
        try Self.checkCompressed(expected: request.hasExpectCompressed && request.expectCompressed.value, context)
        if request.hasResponseCompressed, request.responseCompressed.value {
            context.responseCompression = .gzip
        }
        try Self.throwRequestedStatus(request.hasResponseStatus ? request.responseStatus : nil)
        return .with { $0.payload = Self.payload(size: Int(request.responseSize)) }
    }

    /// CacheableUnaryCall: not served (it needs a caching proxy).
    public func cacheableUnaryCall(request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws
        -> Grpc_Testing_SimpleResponse
    {
        try await self.unaryCall(request: request, context: context)
    }

    /// StreamingOutputCall: one response per ResponseParameters, with their sizes and intervals.
    public func streamingOutputCall(
        request: Grpc_Testing_StreamingOutputCallRequest,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        Self.echoMetadata(context)
        try await Self.respond(to: request, with: responses, context: context)
    }

    /// StreamingInputCall: the total size of the payloads received.
    public func streamingInputCall(
        requests: RequestStream<Grpc_Testing_StreamingInputCallRequest>,
        context: ServerContext
    ) async throws -> Grpc_Testing_StreamingInputCallResponse {
        Self.echoMetadata(context)
        var total = 0
        for try await request in requests {
            try Self.checkCompressed(expected: request.hasExpectCompressed && request.expectCompressed.value, context)
            total += request.payload.body.count
        }
        return .with { $0.aggregatedPayloadSize = Int32(total) }
    }

    /// FullDuplexCall: responses for each request as it arrives.
    public func fullDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        Self.echoMetadata(context)
        for try await request in requests {
            try await Self.respond(to: request, with: responses, context: context)
        }
    }

    /// HalfDuplexCall: every request first, then the responses.
    public func halfDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        Self.echoMetadata(context)
        var all: [Grpc_Testing_StreamingOutputCallRequest] = []
        for try await request in requests { all.append(request) }
        for request in all {
            try await Self.respond(to: request, with: responses, context: context)
        }
    }

    /// UnimplementedCall: UNIMPLEMENTED, as the interop cases expect.
    public func unimplementedCall(request: Grpc_Testing_Empty, context: ServerContext) async throws
        -> Grpc_Testing_Empty
    {
        throw RPCError(.unimplemented, "grpc.testing.TestService/UnimplementedCall is not implemented, on purpose")
    }

    // MARK: Pieces

    /// A COMPRESSABLE payload of `size` zero bytes.
    static func payload(size: Int) -> Grpc_Testing_Payload {
        .with {
            $0.type = .compressable
            $0.body = Data(count: size)
        }
    }

    /// `x-grpc-test-echo-initial` comes back as initial metadata, and
    /// `x-grpc-test-echo-trailing-bin` as trailing metadata.
    static func echoMetadata(_ context: ServerContext) {
        if let initial = context.metadata["x-grpc-test-echo-initial"] {
            var metadata = context.initialMetadata
            metadata.add("x-grpc-test-echo-initial", initial)
            context.initialMetadata = metadata
        }
        if let trailing = context.metadata.binary("x-grpc-test-echo-trailing-bin") {
            var metadata = context.trailingMetadata
            metadata.add("x-grpc-test-echo-trailing-bin", binary: trailing)
            context.trailingMetadata = metadata
        }
    }

    /// A request that says it was compressed must have come in a compressed call: the
    /// clients' feature probe sends one uncompressed and expects INVALID_ARGUMENT.
    static func checkCompressed(expected: Bool, _ context: ServerContext) throws {
        if expected, context.requestCompression == .identity {
            throw RPCError(.invalidArgument, "the request was expected to be compressed, and was not")
        }
    }

    /// The status a request asks for (`response_status`). Beyond the interop
    /// descriptions, the error also carries the `EchoStatus` itself as a rich error detail
    /// (`grpc-status-details-bin`), so clients can check details end to end (the
    /// `status_details` case); clients that do not read details are unaffected.
    static func throwRequestedStatus(_ status: Grpc_Testing_EchoStatus?) throws {
        guard let status, status.code != 0 else { return }
        throw RPCError(
            StatusCode(wireValue: Int(status.code)),
            status.message,
            details: [try Google_Protobuf_Any(message: status)]
        )
    }

    static func respond(
        to request: Grpc_Testing_StreamingOutputCallRequest,
        with responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        try Self.throwRequestedStatus(request.hasResponseStatus ? request.responseStatus : nil)
        if request.responseParameters.contains(where: { $0.hasCompressed && $0.compressed.value }) {
            context.responseCompression = .gzip
        }
        for parameters in request.responseParameters {
            if parameters.intervalUs > 0 {
                try await Task.sleep(for: .microseconds(Int(parameters.intervalUs)))
            }
            let compress = parameters.hasCompressed && parameters.compressed.value
            try await responses.write(
                .with { $0.payload = Self.payload(size: Int(parameters.size)) }, compress: compress)
        }
    }
}
