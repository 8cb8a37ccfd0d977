import SwiftProtobuf

/// What a client interceptor sees of a call, and may change before it starts.
public struct ClientInterceptorCall: Sendable {
    /// The method called, e.g. `AsillaService.Method.getInfor`: its service, name, kind
    /// and path.
    public let method: MethodDescriptor
    /// The call's options. Its metadata, timeout, deadline, compression and credentials
    /// are read when the call starts, after every interceptor; `waitForReady` and
    /// `maximumReceiveMessageSize` apply as the call was made with them.
    public var options: CallOptions
    var observers = MessageObservers()

    init(method: MethodDescriptor, options: CallOptions) {
        self.method = method
        self.options = options
    }

    /// The metadata sent with the request headers (`options.metadata`).
    public var metadata: Metadata {
        get { self.options.metadata }
        set { self.options.metadata = newValue }
    }

    /// Calls `observer` with each request message sent, in order.
    public mutating func observeRequests(_ observer: @escaping @Sendable (any SwiftProtobuf.Message) -> Void) {
        self.observers.observeRequests(observer)
    }

    /// Calls `observer` with each response message received, in order.
    public mutating func observeResponses(_ observer: @escaping @Sendable (any SwiftProtobuf.Message) -> Void) {
        self.observers.observeResponses(observer)
    }
}
