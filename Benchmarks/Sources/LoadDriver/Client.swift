/// What a workload needs from a gRPC client library. `bench-client` (gRPC Simple) and
/// `peer-client` (grpc-swift-2) each implement it once; the workloads in this module are
/// written only against these protocols, so both clients run exactly the same driver.
public protocol BenchClientFactory: Sendable {
    associatedtype Connection: BenchConnection
    /// One client connection (a channel) to `host:port`. It may connect lazily, on its first call.
    func connect(host: String, port: Int) async throws -> Connection
}

/// One connection to a benchmark server (bench-server or peer-server).
public protocol BenchConnection: Sendable {
    associatedtype Call: EchoCall
    /// `AsillaService.getInfor` with `name`.
    func getInfor(name: String) async throws -> Reply
    /// One `StreamBench.Echo` call: `body` sends and receives through `call`, in one task.
    /// The call ends when `body` returns (after `finishSending()` and the end of the responses).
    func echo<R: Sendable>(_ body: (Call) async throws -> R) async throws -> R
    /// Closes the connection.
    func close() async
}

/// The client's side of one `StreamBench.Echo` call, used from the task that runs the
/// call's body.
public protocol EchoCall {
    /// Sends `Person(name, id, married = id is even)`.
    func send(name: String, id: Int32) async throws
    /// The next echoed `Person`, or nil once the server has ended the call.
    func receive() async throws -> Reply?
    /// Ends the request stream.
    func finishSending() async throws
}

/// The fields of a `Person` response, in a form both clients share.
public struct Reply: Sendable {
    public var name: String
    public var id: Int32
    public var married: Bool

    public init(name: String, id: Int32, married: Bool) {
        self.name = name
        self.id = id
        self.married = married
    }
}
