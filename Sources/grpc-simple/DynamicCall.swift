import GRPCSimple
import GRPCSimpleDynamic

/// One call of a method known only by its descriptors: requests encoded from JSON, responses
/// printed as JSON, through the channel's four kinds of call with `RawMessage`.
struct DynamicCall: Sendable {
    let session: Session
    let method: ServiceDescriptor.Method
    let pool: DescriptorPool
    let emitDefaults: Bool
    let verbose: Bool
    private let descriptor: MethodDescriptor
    private let kind: RPCKind

    init(session: Session, method: ServiceDescriptor.Method, pool: DescriptorPool, emitDefaults: Bool, verbose: Bool)
        throws
    {
        self.session = session
        self.method = method
        self.pool = pool
        self.emitDefaults = emitDefaults
        self.verbose = verbose
        switch (method.clientStreaming, method.serverStreaming) {
        case (false, false): self.kind = .unary
        case (false, true): self.kind = .serverStreaming
        case (true, false): self.kind = .clientStreaming
        case (true, true): self.kind = .bidirectionalStreaming
        }
        guard let descriptor = MethodDescriptor(path: method.path, kind: self.kind) else {
            throw RPCError(.invalidArgument, "\(method.path) is not a method path")
        }
        self.descriptor = descriptor
    }

    func run(data: String?) async throws {
        let documents: AsyncThrowingStream<[UInt8], any Error>
        if let data {
            documents = RequestDocuments.stream(data)
        } else {
            documents = RequestDocuments.stream(self.method.clientStreaming ? "" : "{}")
        }
        let channel = self.session.channel
        let options = self.session.options
        var encoder = RequestEncoder(call: self)
        var printer = ResponsePrinter(call: self)
        do {
            switch self.kind {
            case .unary:
                let request = try await encoder.single(documents)
                let response = try await channel.unaryWithMetadata(
                    self.descriptor, request: request, options: options, responseType: RawMessage.self)
                self.show("headers", response.metadata)
                try await printer.print(response.message)
                self.show("trailers", response.trailingMetadata)
            case .serverStreaming:
                let request = try await encoder.single(documents)
                let responses = channel.serverStreaming(
                    self.descriptor, request: request, options: options, responseType: RawMessage.self)
                var shownHeaders = false
                for try await response in responses {
                    if !shownHeaders {
                        self.show("headers", try await responses.metadata)
                        shownHeaders = true
                    }
                    try await printer.print(response)
                }
                if !shownHeaders { self.show("headers", try await responses.metadata) }
                self.show("trailers", try await responses.trailingMetadata)
            case .clientStreaming:
                let response = try await channel.clientStreamingWithMetadata(
                    self.descriptor, options: options, responseType: RawMessage.self
                ) { writer in
                    for try await document in documents { try await writer.write(try await encoder.next(document)) }
                }
                self.show("headers", response.metadata)
                try await printer.print(response.message)
                self.show("trailers", response.trailingMetadata)
            case .bidirectionalStreaming:
                try await channel.bidirectionalStreaming(
                    self.descriptor, options: options, responseType: RawMessage.self
                ) { (writer: RequestWriter<RawMessage>, responses) in
                    // Requests and responses each in a task of their own: a request that does not
                    // fit ends the call at once, even while the server has nothing to say.
                    let writing = encoder
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            var encoder = writing
                            for try await document in documents {
                                try await writer.write(try await encoder.next(document))
                            }
                            writer.finish()
                        }
                        group.addTask {
                            var printer = ResponsePrinter(call: self)
                            var shownHeaders = false
                            for try await response in responses {
                                if !shownHeaders {
                                    self.show("headers", try await responses.metadata)
                                    shownHeaders = true
                                }
                                try await printer.print(response)
                            }
                            if !shownHeaders { self.show("headers", try await responses.metadata) }
                            self.show("trailers", try await responses.trailingMetadata)
                        }
                        // The first to fail ends the call (waitForAll would wait for the other).
                        while try await group.next() != nil {}
                    }
                }
            }
        } catch let error as RPCError {
            self.show("trailers", error.trailingMetadata, onlyIfAny: true)
            throw error
        }
    }

    /// With `-v`, the response's headers or trailers on standard error.
    private func show(_ what: String, _ metadata: Metadata, onlyIfAny: Bool = false) {
        guard self.verbose, !(onlyIfAny && metadata.isEmpty) else { return }
        Output.error("Response \(what):" + (metadata.isEmpty ? " (none)" : ""))
        for entry in metadata {
            switch entry.value {
            case .string(let value): Output.error("  \(entry.key): \(value)")
            case .binary(let bytes): Output.error("  \(entry.key): \(Base64Text.encode(bytes))")
            }
        }
    }
}
