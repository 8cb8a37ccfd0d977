import GRPCSimple
import SwiftProtobuf

/// gRPC server reflection (grpc/grpc `doc/server-reflection.md`): serves
/// `grpc.reflection.v1.ServerReflection` and its predecessor
/// `grpc.reflection.v1alpha.ServerReflection`, so that tools such as grpcurl, grpcui or
/// grpcio-reflection's client can list a server's services and fetch their `.proto`
/// descriptors without having the files.
///
/// It answers from the descriptors that `protoc-gen-grpc-simple` embeds in generated code
/// (each service's `protoFileDescriptors`), so pass it the same services the server serves:
///
/// ```swift
/// let services: [any GRPCService] = [PersonServer(), HealthService()]
/// let server = Server(services: services + [ReflectionService(services: services)])
/// ```
///
/// `list_services` answers every service given here and the two reflection services;
/// `file_by_filename`, `file_containing_symbol` (services, methods, messages and their
/// fields and oneofs, enums and their values, extensions) and `file_containing_extension`
/// answer the file and every file it imports; `all_extension_numbers_of_type` the
/// extensions declared in those files. Anything not known gets an `error_response` with
/// NOT_FOUND on the same stream, which stays open for the next request.
public struct ReflectionService: GRPCService {
    /// The v1 service's name; the service also serves v1alpha.
    public static var serviceName: String { V1.serviceName }

    /// Reflection's own descriptors (v1 and v1alpha), so it describes itself too.
    public static var protoFileDescriptors: [ProtoFileDescriptor] {
        Grpc_Reflection_V1_Reflection_FileDescriptors.all + Grpc_Reflection_V1alpha_Reflection_FileDescriptors.all
    }

    private let responder: ReflectionResponder

    /// Reflection over `services` and itself.
    public init(services: [any GRPCService]) {
        let types = services.map { type(of: $0) } + [Self.self]
        let served = services.map { type(of: $0).serviceName } + [V1.serviceName, V1Alpha.serviceName]
        self.responder = ReflectionResponder(
            index: DescriptorIndex(types.flatMap { $0.protoFileDescriptors }),
            serviceNames: Array(Set(served)).sorted()
        )
    }

    /// Registers `ServerReflectionInfo` of both grpc.reflection.v1 and v1alpha.
    public func register(with router: inout Router) {
        V1(responder: self.responder).register(with: &router)
        V1Alpha(responder: self.responder).register(with: &router)
    }

    /// `grpc.reflection.v1.ServerReflection`: one response per request, in order.
    private struct V1: Grpc_Reflection_V1_ServerReflectionProvider {
        let responder: ReflectionResponder

        func serverReflectionInfo(
            requests: RequestStream<Grpc_Reflection_V1_ServerReflectionRequest>,
            responses: ResponseWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
            context: ServerContext
        ) async throws {
            for try await request in requests {
                try await responses.write(self.responder.answer(request))
            }
        }
    }

    /// `grpc.reflection.v1alpha.ServerReflection`. Its messages are v1's with another package
    /// name (same fields, same numbers), so each request is re-read as v1, answered, and
    /// the answer re-read as v1alpha. Re-reading bytes of an identical schema cannot fail.
    private struct V1Alpha: Grpc_Reflection_V1alpha_ServerReflectionProvider {
        let responder: ReflectionResponder

        func serverReflectionInfo(
            requests: RequestStream<Grpc_Reflection_V1alpha_ServerReflectionRequest>,
            responses: ResponseWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>,
            context: ServerContext
        ) async throws {
            for try await request in requests {
                let v1Request = try Grpc_Reflection_V1_ServerReflectionRequest(
                    serializedBytes: request.serializedBytes() as [UInt8]
                )
                let v1Response = self.responder.answer(v1Request)
                try await responses.write(
                    Grpc_Reflection_V1alpha_ServerReflectionResponse(
                        serializedBytes: v1Response.serializedBytes() as [UInt8]
                    )
                )
            }
        }
    }
}
