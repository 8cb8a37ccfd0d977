import Foundation
import GRPCHealth
import GRPCReflection
import GRPCSimple
import InteropTesting
import SwiftProtobuf
import TestServices
import Testing

/// grpc.reflection.v1 and v1alpha over a real socket, fed by the descriptors that
/// protoc-gen-grpc-simple embeds: every request kind, NOT_FOUND and INVALID_ARGUMENT as
/// error_response on a stream that stays open, and several requests on one stream.
@Suite struct ReflectionTests {
    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    enum Version: CaseIterable, CustomStringConvertible {
        case v1
        case v1alpha
        var description: String { self == .v1 ? "v1" : "v1alpha" }
    }

    /// A service written by hand: served and listed, but without descriptors.
    struct HandWrittenService: GRPCService {
        static var serviceName: String { "test.HandWritten" }
        func register(with router: inout Router) {}
    }

    /// Serves extensions.proto (proto2 extensions, a well-known type import).
    struct ExtensionsService: Grpcsimple_Extensions_ExtensionsProvider {
        func ping(request: Google_Protobuf_Empty, context: ServerContext) async throws
            -> Grpcsimple_Extensions_Extendable
        {
            .with { $0.name = "pong" }
        }
    }

    /// Runs `body` against a server serving the test services and reflection over them.
    func withReflectionServer<T: Sendable>(_ body: @escaping @Sendable (GRPCChannel) async throws -> T) async throws
        -> T
    {
        let services: [any GRPCService] = [
            EchoService(probe: ServiceProbe()), NamingService(), InteropTestService(), HealthService(),
            HandWrittenService(), ExtensionsService(),
        ]
        let server = Server(services: services + [ReflectionService(services: services)], workers: 1)
        try await server.start(host: "127.0.0.1", port: 0)
        let channel = try GRPCChannel(host: "127.0.0.1", port: try #require(server.port))
        do {
            // A bound for a hang, not a speed test: a debug build among the whole parallel
            // suite on two cores has taken more than 10 s for these exchanges.
            let result = try await withTimeout(seconds: 40) { try await body(channel) }
            await channel.close()
            await server.shutdown(gracePeriod: .seconds(1))
            return result
        } catch {
            await channel.close()
            await server.shutdown(gracePeriod: .seconds(1))
            throw error
        }
    }

    /// Sends `requests` on one ServerReflectionInfo stream of `version` and returns the
    /// responses, read as v1 (the two versions' messages have the same fields and numbers).
    func exchange(_ requests: [Request], version: Version) async throws -> [Response] {
        try await withReflectionServer { channel in try await Self.call(requests, version: version, channel: channel) }
    }

    /// Writes every request, then reads one response per request: the stream stays open
    /// across them, whatever each answer is.
    private static func call(_ requests: [Request], version: Version, channel: GRPCChannel) async throws -> [Response] {
        switch version {
        case .v1:
            let client = Grpc_Reflection_V1_ServerReflectionClient(channel: channel)
            return try await client.serverReflectionInfo { writer, responses in
                var received: [Response] = []
                var iterator = responses.makeAsyncIterator()
                for request in requests {
                    try await writer.write(request)
                    received.append(try #require(try await iterator.next(), "the stream ended early"))
                }
                writer.finish()
                return received
            }
        case .v1alpha:
            let client = Grpc_Reflection_V1alpha_ServerReflectionClient(channel: channel)
            return try await client.serverReflectionInfo { writer, responses in
                var received: [Response] = []
                var iterator = responses.makeAsyncIterator()
                for request in requests {
                    try await writer.write(.init(serializedBytes: try request.serializedBytes() as [UInt8]))
                    let response = try #require(try await iterator.next(), "the stream ended early")
                    received.append(try Response(serializedBytes: try response.serializedBytes() as [UInt8]))
                }
                writer.finish()
                return received
            }
        }
    }

    /// The names of the files in a file_descriptor_response, in order.
    func fileNames(_ response: Response) throws -> [String] {
        guard case .fileDescriptorResponse(let files)? = response.messageResponse else {
            Issue.record("expected a file_descriptor_response, got \(response.messageResponse.debugDescription)")
            return []
        }
        return try files.fileDescriptorProto.map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0).name }
    }

    func error(_ response: Response) -> Grpc_Reflection_V1_ErrorResponse? {
        guard case .errorResponse(let error)? = response.messageResponse else { return nil }
        return error
    }

    @Test(arguments: Version.allCases)
    func listServicesAnswersEveryServedServiceAndReflectionItself(version: Version) async throws {
        let request = Request.with {
            $0.host = "example.test"
            $0.listServices = "*"
        }
        let responses = try await exchange([request], version: version)
        let response = try #require(responses.first)
        #expect(response.originalRequest == request)
        #expect(response.validHost == "example.test")
        guard case .listServicesResponse(let list)? = response.messageResponse else {
            Issue.record("expected a list_services_response, got \(String(describing: response.messageResponse))")
            return
        }
        #expect(
            list.service.map(\.name) == [
                "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection", "grpc.testing.TestService",
                "grpcsimple.echo.Echo", "grpcsimple.extensions.Extensions", "grpcsimple.naming.Naming",
                "test.HandWritten",
            ]
        )
    }

    @Test(arguments: Version.allCases)
    func fileByFilenameAnswersTheFileAndEveryImport(version: Version) async throws {
        let responses = try await exchange(
            [.with { $0.fileByFilename = "grpc/testing/test.proto" }, .with { $0.fileByFilename = "naming.proto" }],
            version: version
        )
        try #require(responses.count == 2)
        #expect(
            try fileNames(responses[0]) == [
                "grpc/testing/test.proto", "grpc/testing/empty.proto", "grpc/testing/messages.proto",
            ]
        )
        #expect(try fileNames(responses[1]) == ["naming.proto", "echo.proto"])
        // The descriptor is the real one: TestService and its methods, message fields.
        guard case .fileDescriptorResponse(let files)? = responses[0].messageResponse else { return }
        let test = try Google_Protobuf_FileDescriptorProto(serializedBytes: files.fileDescriptorProto[0])
        let service = try #require(test.service.first { $0.name == "TestService" })
        #expect(service.method.map(\.name).contains("UnaryCall"))
        #expect(service.method.first { $0.name == "UnaryCall" }?.inputType == ".grpc.testing.SimpleRequest")
        #expect(!test.hasSourceCodeInfo, "source code info is left out of embedded descriptors")
        let messages = try Google_Protobuf_FileDescriptorProto(serializedBytes: files.fileDescriptorProto[2])
        let simpleRequest = try #require(messages.messageType.first { $0.name == "SimpleRequest" })
        #expect(simpleRequest.field.contains { $0.name == "response_size" && $0.number == 2 })
    }

    @Test(arguments: Version.allCases)
    func fileContainingSymbolFindsEveryKindOfSymbolOnOneStream(version: Version) async throws {
        // symbol -> the file that declares it (first in the response).
        let symbols: [(String, String)] = [
            ("grpc.testing.TestService", "grpc/testing/test.proto"),  // service
            ("grpc.testing.TestService.UnaryCall", "grpc/testing/test.proto"),  // method
            ("grpc.testing.SimpleRequest", "grpc/testing/messages.proto"),  // message in an import
            ("grpc.testing.SimpleRequest.response_size", "grpc/testing/messages.proto"),  // field
            ("grpc.testing.PayloadType", "grpc/testing/messages.proto"),  // enum
            ("grpc.testing.COMPRESSABLE", "grpc/testing/messages.proto"),  // enum value (sibling scope)
            ("grpc.testing.Empty", "grpc/testing/empty.proto"),  // message-only import
            ("grpcsimple.naming.Outer.Inner", "naming.proto"),  // nested message
            ("grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"),  // nested enum
            ("grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"),  // nested enum value
            (".grpcsimple.echo.EchoRequest", "echo.proto"),  // leading dot, as in descriptors
            ("grpc.reflection.v1alpha.ServerReflection", "grpc/reflection/v1alpha/reflection.proto"),  // itself
            ("grpcsimple.extensions.nickname", "extensions.proto"),  // top-level extension
            ("grpcsimple.extensions.Holder.age", "extensions.proto"),  // extension nested in a message
            ("google.protobuf.Empty", "google/protobuf/empty.proto"),  // an imported well-known type
        ]
        let requests = symbols.map { symbol in Request.with { $0.fileContainingSymbol = symbol.0 } }
        let responses = try await exchange(requests, version: version)
        try #require(responses.count == requests.count)
        for (response, (symbol, file)) in zip(responses, symbols) {
            #expect(response.originalRequest.fileContainingSymbol == symbol)
            #expect(try fileNames(response).first == file, "symbol \(symbol)")
        }
    }

    @Test(arguments: Version.allCases)
    func extensionRequestsFindProto2Extensions(version: Version) async throws {
        let responses = try await exchange(
            [
                .with { $0.allExtensionNumbersOfType = "grpcsimple.extensions.Extendable" },
                .with {
                    $0.fileContainingExtension = .with {
                        $0.containingType = "grpcsimple.extensions.Extendable"
                        $0.extensionNumber = 150
                    }
                },
                .with { $0.fileByFilename = "google/protobuf/empty.proto" },
            ],
            version: version
        )
        try #require(responses.count == 3)
        guard case .allExtensionNumbersResponse(let numbers)? = responses[0].messageResponse else {
            Issue.record("expected an all_extension_numbers_response, got \(responses[0])")
            return
        }
        #expect(numbers.baseTypeName == "grpcsimple.extensions.Extendable")
        #expect(numbers.extensionNumber == [100, 150])
        #expect(try fileNames(responses[1]) == ["extensions.proto", "google/protobuf/empty.proto"])
        // Well-known types imported by a service's file are embedded with it.
        #expect(try fileNames(responses[2]) == ["google/protobuf/empty.proto"])
    }

    @Test(arguments: Version.allCases)
    func extensionRequestsAnswerAsGrpcGoDoes(version: Version) async throws {
        // No served file declares extensions: a known message has none, the rest is unknown.
        let responses = try await exchange(
            [
                .with { $0.allExtensionNumbersOfType = "grpc.testing.SimpleRequest" },
                .with { $0.allExtensionNumbersOfType = "no.such.Message" },
                .with {
                    $0.fileContainingExtension = .with {
                        $0.containingType = "grpc.testing.SimpleRequest"
                        $0.extensionNumber = 100
                    }
                },
            ],
            version: version
        )
        try #require(responses.count == 3)
        guard case .allExtensionNumbersResponse(let numbers)? = responses[0].messageResponse else {
            Issue.record("expected an all_extension_numbers_response, got \(responses[0])")
            return
        }
        #expect(numbers.baseTypeName == "grpc.testing.SimpleRequest")
        #expect(numbers.extensionNumber.isEmpty)
        #expect(error(responses[1])?.errorCode == Int32(StatusCode.notFound.rawValue))
        #expect(error(responses[1])?.errorMessage == "message type 'no.such.Message' not found")
        #expect(error(responses[2])?.errorCode == Int32(StatusCode.notFound.rawValue))
        #expect(error(responses[2])?.errorMessage == "extension 100 of 'grpc.testing.SimpleRequest' not found")
    }

    @Test(arguments: Version.allCases)
    func unknownNamesAndEmptyRequestsGetErrorResponsesAndTheStreamGoesOn(version: Version) async throws {
        let responses = try await exchange(
            [
                .with { $0.fileByFilename = "no/such.proto" },
                .with { $0.fileContainingSymbol = "no.such.Symbol" },
                .with { $0.fileContainingSymbol = "test.HandWritten" },  // served, but no descriptor
                Request(),  // sets no message_request
                .with { $0.fileByFilename = "person.proto" },  // not served here
                .with { $0.listServices = "" },
            ],
            version: version
        )
        try #require(responses.count == 6)
        let notFound = Int32(StatusCode.notFound.rawValue)
        #expect(error(responses[0])?.errorCode == notFound)
        #expect(error(responses[0])?.errorMessage == "file 'no/such.proto' not found")
        #expect(error(responses[1])?.errorCode == notFound)
        #expect(error(responses[1])?.errorMessage == "symbol 'no.such.Symbol' not found")
        #expect(error(responses[2])?.errorCode == notFound)
        #expect(error(responses[3])?.errorCode == Int32(StatusCode.invalidArgument.rawValue))
        #expect(error(responses[3])?.errorMessage.contains("sets none of") == true)
        #expect(responses[3].originalRequest == Request())
        #expect(error(responses[4])?.errorMessage == "file 'person.proto' not found")
        // The stream survived every error: the last request is answered normally.
        guard case .listServicesResponse(let list)? = responses[5].messageResponse else {
            Issue.record("expected a list_services_response after the errors, got \(responses[5])")
            return
        }
        #expect(list.service.count == 8)
    }

    @Test func generatedServicesExposeTheirFileAndImportsFileFirst() {
        #expect(
            InteropTestService.protoFileDescriptors.map(\.name) == [
                "grpc/testing/test.proto", "grpc/testing/empty.proto", "grpc/testing/messages.proto",
            ]
        )
        #expect(HealthService.protoFileDescriptors.map(\.name) == ["grpc/health/v1/health.proto"])
        #expect(HandWrittenService.protoFileDescriptors.isEmpty)
    }

    @Test func bytesThatAreNotARequestEndOnlyThatCall() async throws {
        try await withReflectionServer { channel in
            // Field 1 (`host`, a string) holding bytes that are not UTF-8: not a
            // ServerReflectionRequest.
            let error = await expectRPCError {
                _ = try await channel.bidirectionalStreaming(
                    Grpc_Reflection_V1_ServerReflection.Method.serverReflectionInfo,
                    responseType: Response.self
                ) { (writer: RequestWriter<Google_Protobuf_BytesValue>, responses) in
                    try await writer.write(.with { $0.value = Data([0xFF, 0xFE]) })
                    writer.finish()
                    for try await _ in responses {}
                }
            }
            #expect(error?.code == .internal)
            #expect(error?.message.contains("grpc.reflection.v1.ServerReflectionRequest") == true)
            // The server and its reflection service go on.
            let responses = try await Self.call([.with { $0.listServices = "" }], version: .v1, channel: channel)
            guard case .listServicesResponse? = responses.first?.messageResponse else {
                Issue.record("expected a list_services_response after the malformed call")
                return
            }
        }
    }
}
