import SwiftProtobuf

/// Maps request paths (`/package.Service/Method`) to the handlers that serve them.
///
/// Generated code fills it, one call per method with the method's `MethodDescriptor`;
/// the four registering methods match the four kinds of RPC.
public struct Router: Sendable {
    private(set) var handlers: [String: MethodHandler] = [:]
    private(set) var services: Set<String> = []

    /// An empty router.
    public init() {}

    /// Every registered method, ordered by path.
    public var methods: [MethodDescriptor] { self.handlers.values.map(\.method).sorted { $0.path < $1.path } }

    func handler(for path: String) -> MethodHandler? {
        self.handlers[path]
    }

    func hasService(_ name: String) -> Bool {
        self.services.contains(name)
    }

    /// Replaces every method's handler with `wrap(handler)` (interceptors).
    mutating func wrapMethods(_ wrap: (MethodHandler) -> MethodHandler) {
        for (path, handler) in self.handlers {
            self.handlers[path] = wrap(handler)
        }
    }

    private mutating func add(_ method: MethodDescriptor, expecting kind: RPCKind, _ run: @escaping MethodHandler.Run) {
        precondition(method.kind == kind, "\(method) is a \(method.kind) method, registered as \(kind)")
        self.handlers[method.path] = MethodHandler(method: method, run: run)
        self.services.insert(method.service)
    }

    /// One request, one response.
    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        self.add(method, expecting: .unary) { call, context in
            let request = try await call.receiveOnly(Request.self)
            let response = try await handler(request, context)
            try call.sendLast(response)
        }
    }

    /// One request, a stream of responses.
    public mutating func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        self.add(method, expecting: .serverStreaming) { call, context in
            let request = try await call.receiveOnly(Request.self)
            try await handler(request, ResponseWriter(call: call), context)
        }
    }

    /// A stream of requests, one response.
    public mutating func clientStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        _ handler: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) {
        self.add(method, expecting: .clientStreaming) { call, context in
            let response = try await handler(RequestStream(call: call), context)
            try call.sendLast(response)
        }
    }

    /// A stream each way, in any order.
    public mutating func bidirectionalStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        _ handler:
            @escaping @Sendable (RequestStream<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        self.add(method, expecting: .bidirectionalStreaming) { call, context in
            try await handler(RequestStream(call: call), ResponseWriter(call: call), context)
        }
    }
}
