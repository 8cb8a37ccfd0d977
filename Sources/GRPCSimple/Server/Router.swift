import NIOCore
import SwiftProtobuf

/// Maps request paths (`/package.Service/Method`) to the handlers that serve them.
///
/// Generated code fills it; the four methods match the four kinds of RPC.
public struct Router: Sendable {
    private(set) var methods: [String: MethodHandler] = [:]
    private(set) var services: Set<String> = []

    public init() {}

    /// Every registered method path.
    public var paths: [String] { self.methods.keys.sorted() }

    func handler(for path: String) -> MethodHandler? {
        self.methods[path]
    }

    func hasService(_ name: String) -> Bool {
        self.services.contains(name)
    }

    /// Replaces every method's handler with `wrap(handler)` (interceptors).
    mutating func wrapMethods(_ wrap: (MethodHandler) -> MethodHandler) {
        for (path, handler) in self.methods {
            self.methods[path] = wrap(handler)
        }
    }

    private mutating func add(_ path: String, _ handler: MethodHandler) {
        self.methods[path] = handler
        if let service = MethodPath(path)?.service {
            self.services.insert(service)
        }
    }

    /// One request, one response.
    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        self.add(path, MethodHandler(kind: .unary) { call, context in
            let request = try await call.receiveOnly(Request.self)
            let response = try await handler(request, context)
            try call.sendLast(response)
        })
    }

    /// One request, a stream of responses.
    public mutating func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        self.add(path, MethodHandler(kind: .serverStreaming) { call, context in
            let request = try await call.receiveOnly(Request.self)
            try await handler(request, ResponseWriter(call: call), context)
        })
    }

    /// A stream of requests, one response.
    public mutating func clientStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ path: String,
        _ handler: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) {
        self.add(path, MethodHandler(kind: .clientStreaming) { call, context in
            let response = try await handler(RequestStream(call: call), context)
            try call.sendLast(response)
        })
    }

    /// A stream each way, in any order.
    public mutating func bidirectionalStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ path: String,
        _ handler: @escaping @Sendable (RequestStream<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        self.add(path, MethodHandler(kind: .bidirectionalStreaming) { call, context in
            try await handler(RequestStream(call: call), ResponseWriter(call: call), context)
        })
    }
}

/// The type-erased entry point of one method.
struct MethodHandler: Sendable {
    typealias Kind = RPCKind

    let kind: Kind
    let run: @Sendable (ServerCall, ServerContext) async throws -> Void
}

/// A request path split into service and method.
struct MethodPath: Hashable {
    let service: String
    let method: String

    init?(_ path: String) {
        guard path.first == "/" else { return nil }
        let parts = path.dropFirst().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[1].contains("/") else { return nil }
        self.service = String(parts[0])
        self.method = String(parts[1])
    }
}
