import NIOHPACK
import SwiftProtobuf
import TestServices
import Testing

@testable import GRPCSimple

/// Status codes, messages and metadata, end to end.
@Suite struct StatusAndMetadataTests {
    @Test func handlerStatusKeepsCodeMessageAndTrailers() async throws {
        try await withHarness { harness in
            let message = "not here: 100% ünïcödé\n"
            var metadata: Metadata = ["fail-code": "5"]
            metadata.add("fail-message-bin", binary: Array(message.utf8))
            let options = CallOptions(metadata: metadata)
            let error = await expectRPCError {
                _ = try await harness.echo.get(.with { $0.text = "x" }, options: options)
            }
            #expect(error?.code == .notFound)
            #expect(error?.message == message)
            #expect(error?.trailingMetadata.binary("error-detail-bin") == [0, 1, 2, 255])
            #expect(error?.description.hasPrefix("NOT_FOUND: not here") == true)
        }
    }

    @Test func richErrorDetailsTravelBothWaysAndTheCauseStaysHome() async throws {
        try await withHarness { harness in
            let options = CallOptions(metadata: [
                "fail-code": "3", "fail-message": "bad name", "fail-detail": "name is empty",
            ])
            let unary = await expectRPCError {
                _ = try await harness.echo.get(.with { $0.text = "x" }, options: options)
            }
            #expect(unary?.code == .invalidArgument)
            #expect(unary?.message == "bad name")
            #expect(unary?.details.count == 1)
            #expect(unary?.detail(Google_Protobuf_StringValue.self)?.value == "name is empty")
            #expect(unary?.detail(Google_Protobuf_Int32Value.self) == nil)
            #expect(unary?.cause == nil, "the server's cause is not sent")
            #expect(unary?.trailingMetadata[StatusDetails.headerName] == nil, "details are not metadata")
            // Trailers after messages carry them too.
            let streaming = await expectRPCError {
                for try await _ in harness.echo.expand(.with { $0.text = "a b" }, options: options) {}
            }
            #expect(streaming?.detail(Google_Protobuf_StringValue.self)?.value == "name is empty")
        }
    }

    @Test func statusDetailsOnTheWire() throws {
        let detail = try Google_Protobuf_Any(message: Google_Protobuf_StringValue("why"))
        let status = Status(code: .notFound, message: "gone", details: [detail])
        let trailers = GRPCHeaders.trailers(status: status, metadata: [:])
        let encoded = try #require(trailers.first(name: "grpc-status-details-bin"))
        let decoded = try Google_Rpc_Status(serializedBytes: Base64.decode(Substring(encoded)) ?? [])
        #expect(decoded.code == 5 && decoded.message == "gone")
        #expect(decoded.details.map(\.typeURL) == ["type.googleapis.com/google.protobuf.StringValue"])
        let (read, _) = GRPCHeaders.status(from: trailers)
        #expect(read.code == .notFound && read.message == "gone")
        #expect(read.details.count == 1)
        #expect(try Google_Protobuf_StringValue(unpackingAny: read.details[0]).value == "why")
        // No details: no trailer.
        #expect(
            GRPCHeaders.trailers(status: Status(code: .notFound), metadata: [:]).first(name: "grpc-status-details-bin")
                == nil)
        // Malformed details are the server's fault: INTERNAL, naming the trailer.
        let malformed: HPACKHeaders = ["grpc-status": "5", "grpc-status-details-bin": "AAAA-not-base64!"]
        let (status2, _) = GRPCHeaders.status(from: malformed)
        #expect(status2.code == .internal)
        #expect(status2.message.contains("grpc-status-details-bin"))
        let notAStatus: HPACKHeaders = ["grpc-status": "5", "grpc-status-details-bin": Base64.encode([0xFF, 0xFF])]
        #expect(GRPCHeaders.status(from: notAStatus).0.code == .internal)
        // It is reserved: not sendable as metadata.
        var reserved = Metadata()
        reserved.add("grpc-status-details-bin", binary: [1])
        #expect(GRPCHeaders.firstInvalidEntry(in: reserved) != nil)
    }

    @Test func otherErrorsBecomeUnknownWithoutDetails() async throws {
        try await withHarness { harness in
            let options = CallOptions(metadata: ["fail-plain": "1"])
            let error = await expectRPCError {
                _ = try await harness.echo.get(.with { $0.text = "x" }, options: options)
            }
            #expect(error?.code == .unknown)
            #expect(error?.message.contains("hunter2") == false)
            #expect(error?.message.contains("/grpcsimple.echo.Echo/Get") == true)
        }
    }

    @Test func streamingStatusAfterMessages() async throws {
        try await withHarness { harness in
            let options = CallOptions(metadata: ["fail-code": "9", "fail-message": "precondition"])
            let error = await expectRPCError {
                for try await _ in harness.echo.expand(.with { $0.text = "a b" }, options: options) {}
            }
            #expect(error?.code == .failedPrecondition)
        }
    }

    @Test func metadataRoundTrip() async throws {
        try await withHarness { harness in
            var metadata: Metadata = ["echo-metadata": "1", "x-plain": "value 1"]
            metadata.add("x-plain", "value 2")
            metadata.add("x-data-bin", binary: [0, 255, 10, 13])
            let response = try await harness.channel.unaryWithMetadata(
                Grpcsimple_Echo_Echo.Method.get,
                request: Grpcsimple_Echo_EchoRequest.with { $0.text = "m" },
                options: CallOptions(metadata: metadata),
                responseType: Grpcsimple_Echo_EchoResponse.self
            )
            #expect(response.message.text == "m")
            #expect(response.metadata.values("x-plain") == [.string("value 1"), .string("value 2")])
            #expect(response.metadata.binary("x-data-bin") == [0, 255, 10, 13])
            #expect(response.trailingMetadata["trailer-x-plain"] == "value 1")
            #expect(response.trailingMetadata.binary("trailer-x-data-bin") == [0, 255, 10, 13])
        }
    }

    @Test func streamingMetadata() async throws {
        try await withHarness { harness in
            let responses = harness.echo.expand(
                .with { $0.text = "a" },
                options: CallOptions(metadata: ["echo-metadata": "1", "x-k": "v"])
            )
            #expect(try await responses.metadata["x-k"] == "v")
            for try await _ in responses {}
            #expect(try await responses.trailingMetadata["trailer-x-k"] == "v")
        }
    }

    @Test func invalidMetadataFailsBeforeSending() async throws {
        try await withHarness { harness in
            let error = await expectRPCError {
                _ = try await harness.echo.get(
                    .with { $0.text = "x" }, options: CallOptions(metadata: ["Bad Key": "v"]))
            }
            #expect(error?.code == .internal)
            #expect(error?.message.contains("bad key") == true)
        }
    }

    @Test func unknownMethodAndServiceAreUnimplemented() async throws {
        try await withHarness { harness in
            let method = await expectRPCError {
                _ = try await harness.channel.unary(
                    MethodDescriptor(service: "grpcsimple.echo.Echo", name: "Nope", kind: .unary),
                    request: Grpcsimple_Echo_EchoRequest(),
                    responseType: Grpcsimple_Echo_EchoResponse.self
                )
            }
            #expect(method?.code == .unimplemented)
            #expect(method?.message == "unknown method Nope for service grpcsimple.echo.Echo")
            let service = await expectRPCError {
                _ = try await harness.channel.unary(
                    MethodDescriptor(service: "no.Such", name: "Get", kind: .unary),
                    request: Grpcsimple_Echo_EchoRequest(),
                    responseType: Grpcsimple_Echo_EchoResponse.self
                )
            }
            #expect(service?.code == .unimplemented)
            #expect(service?.message == "unknown service no.Such")
        }
    }
}
