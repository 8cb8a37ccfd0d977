import Foundation
import GRPCReflection
import GRPCSimple
import SwiftProtobuf

/// Asks a server's reflection service for its services and for the files that declare a
/// symbol: grpc.reflection.v1 first, then v1alpha for servers that only have that (grpcio's
/// reflection, older grpc-go). v1alpha's messages are v1's under another package, so one set
/// of messages serves both.
actor ReflectionClient {
    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    private static let versions = [
        Grpc_Reflection_V1_ServerReflection.Method.serverReflectionInfo,
        Grpc_Reflection_V1alpha_ServerReflection.Method.serverReflectionInfo,
    ]

    private let channel: GRPCChannel
    private let options: CallOptions
    private let address: String
    /// The version that answered; nil until one has.
    private var method: MethodDescriptor?
    /// Every file received so far, by name.
    private var files: [String: Google_Protobuf_FileDescriptorProto] = [:]

    init(channel: GRPCChannel, options: CallOptions, address: String) {
        self.channel = channel
        self.options = options
        self.address = address
    }

    /// The names of the services the server offers.
    func serviceNames() async throws -> [String] {
        let responses = try await self.exchange([.with { $0.listServices = "*" }])
        guard case .listServicesResponse(let list)? = responses.first?.messageResponse else {
            throw RPCError(
                .internal,
                "\(self.address)'s reflection service answered list_services with \(Self.describe(responses.first))")
        }
        return list.service.map(\.name).sorted()
    }

    /// The file that declares `symbol` and every file it imports, transitively; nil when the
    /// server knows no such symbol.
    func files(containing symbol: String) async throws -> [Google_Protobuf_FileDescriptorProto]? {
        let responses = try await self.exchange([.with { $0.fileContainingSymbol = symbol }])
        guard let response = responses.first else { return nil }
        if case .errorResponse(let error)? = response.messageResponse {
            if error.errorCode == Int32(StatusCode.notFound.rawValue) { return nil }
            throw RPCError(StatusCode(wireValue: Int(error.errorCode)), "reflection: \(error.errorMessage)")
        }
        let roots = try self.keep(response)
        return try await self.closure(of: roots)
    }

    /// Files received so far plus those they import that have not come yet, fetched by name
    /// on one stream, until nothing is missing.
    private func closure(of roots: [String]) async throws -> [Google_Protobuf_FileDescriptorProto] {
        while true {
            let missing = Set(self.dependencies(of: roots).filter { self.files[$0] == nil })
            if missing.isEmpty { break }
            let responses = try await self.exchange(missing.sorted().map { name in .with { $0.fileByFilename = name } })
            for response in responses {
                if case .errorResponse(let error)? = response.messageResponse {
                    throw RPCError(
                        .internal,
                        "\(self.address)'s reflection service could not send an imported file: \(error.errorMessage)")
                }
                _ = try self.keep(response)
            }
        }
        return self.dependencies(of: roots).compactMap { self.files[$0] }
    }

    /// Every file received so far: a closed set, since each came with its imports.
    func allFiles() -> [Google_Protobuf_FileDescriptorProto] {
        Array(self.files.values)
    }

    /// Every file `roots` need, imports first.
    private func dependencies(of roots: [String]) -> [String] {
        var ordered: [String] = []
        var seen: Set<String> = []
        func visit(_ name: String) {
            guard seen.insert(name).inserted else { return }
            for dependency in self.files[name]?.dependency ?? [] { visit(dependency) }
            ordered.append(name)
        }
        for root in roots { visit(root) }
        return ordered
    }

    /// Keeps the files of a file_descriptor_response; returns the name of the first (the one
    /// asked for; the others may be its imports).
    private func keep(_ response: Response) throws -> [String] {
        guard case .fileDescriptorResponse(let answer)? = response.messageResponse else {
            throw RPCError(.internal, "\(self.address)'s reflection service answered with \(Self.describe(response))")
        }
        var names: [String] = []
        for bytes in answer.fileDescriptorProto {
            let file = try Google_Protobuf_FileDescriptorProto(serializedBytes: bytes)
            if self.files[file.name] == nil { self.files[file.name] = file }
            names.append(file.name)
        }
        return Array(names.prefix(1))
    }

    /// Sends `requests` on one stream and returns one response per request.
    private func exchange(_ requests: [Request]) async throws -> [Response] {
        if let method = self.method {
            return try await Self.exchange(
                requests, method: method, channel: self.channel, options: self.options, address: self.address)
        }
        for method in Self.versions {
            do {
                let responses = try await Self.exchange(
                    requests, method: method, channel: self.channel, options: self.options, address: self.address)
                self.method = method
                return responses
            } catch let error as RPCError where error.code == .unimplemented {
                continue
            }
        }
        throw RPCError(
            .unimplemented,
            "\(self.address) does not serve reflection (grpc.reflection.v1 or v1alpha); give the schema with --proto or --protoset"
        )
    }

    private static func exchange(
        _ requests: [Request],
        method: MethodDescriptor,
        channel: GRPCChannel,
        options: CallOptions,
        address: String
    ) async throws -> [Response] {
        try await channel.bidirectionalStreaming(method, options: options, responseType: Response.self) {
            (writer: RequestWriter<Request>, responses) in
            var iterator = responses.makeAsyncIterator()
            var answers: [Response] = []
            for request in requests {
                try await writer.write(request)
                guard let response = try await iterator.next() else {
                    throw RPCError(.internal, "\(address)'s reflection service ended the stream without answering")
                }
                answers.append(response)
            }
            writer.finish()
            while try await iterator.next() != nil {}  // let the server end the stream
            return answers
        }
    }

    private static func describe(_ response: Response?) -> String {
        guard let response else { return "nothing" }
        if case .errorResponse(let error)? = response.messageResponse {
            return "an error: \(StatusCode(wireValue: Int(error.errorCode))): \(error.errorMessage)"
        }
        return "an unexpected answer"
    }
}
