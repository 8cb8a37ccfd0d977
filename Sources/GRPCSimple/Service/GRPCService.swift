/// A service a `Server` can serve.
///
/// You rarely conform to it by hand: the protocol that `protoc-gen-grpc-simple` generates
/// for each service in a `.proto` (e.g. `AsillaServiceProvider`) refines it and registers
/// its methods for you.
public protocol GRPCService: Sendable {
    /// The fully qualified service name, e.g. `grpc.testing.TestService`.
    static var serviceName: String { get }

    /// Adds this service's methods to the router.
    func register(with router: inout Router)

    /// Called when the server starts a graceful shutdown, before it stops taking calls
    /// (a health service reports NOT_SERVING here). Does nothing unless you implement it.
    func serverWillShutDown()

    /// The descriptors of the `.proto` file that declares this service and of every file it
    /// imports, transitively, for server reflection. Generated code returns them (the file
    /// itself first); a hand-written service has none unless it implements this.
    static var protoFileDescriptors: [ProtoFileDescriptor] { get }
}

extension GRPCService {
    /// Does nothing.
    public func serverWillShutDown() {}

    /// None: a hand-written service has no descriptors unless it provides them.
    public static var protoFileDescriptors: [ProtoFileDescriptor] { [] }
}
