import SwiftProtobuf

/// What a server interceptor sees of a call, and may change before the handler runs.
public struct ServerInterceptorCall: Sendable {
    /// The method called, e.g. `AsillaService.Method.getInfor`: its service, name, kind
    /// and path.
    public let method: MethodDescriptor
    /// The request metadata. What later interceptors and the handler see is what this
    /// holds when the call is passed on to `next`.
    public var metadata: Metadata
    /// The call's context: the peer, the deadline, and the response metadata the
    /// handler sends.
    public let context: ServerContext
    var observers = MessageObservers()

    init(method: MethodDescriptor, metadata: Metadata, context: ServerContext) {
        self.method = method
        self.metadata = metadata
        self.context = context
    }

    /// Calls `observer` with each request message the handler reads, in order.
    public mutating func observeRequests(_ observer: @escaping @Sendable (any SwiftProtobuf.Message) -> Void) {
        self.observers.observeRequests(observer)
    }

    /// Calls `observer` with each response message the handler sends, in order.
    public mutating func observeResponses(_ observer: @escaping @Sendable (any SwiftProtobuf.Message) -> Void) {
        self.observers.observeResponses(observer)
    }
}
