import GRPCSimple
import SwiftProtobuf
import Synchronization

/// The service the server targets call: `fuzz.Echo` with one method of each kind, echoing
/// `google.protobuf.BytesValue` messages (a well-known type, so no generated code is needed).
/// It counts the handlers running, so a target can check that none is left behind.
public struct FuzzEchoService: GRPCService {
    /// `fuzz.Echo`.
    public static let serviceName = "fuzz.Echo"

    /// Unary: the request back.
    public static let get = MethodDescriptor(service: serviceName, name: "Get", kind: .unary)
    /// Server streaming: the request back, three times.
    public static let expand = MethodDescriptor(service: serviceName, name: "Expand", kind: .serverStreaming)
    /// Client streaming: the requests joined.
    public static let collect = MethodDescriptor(service: serviceName, name: "Collect", kind: .clientStreaming)
    /// Bidirectional: each request back as it comes.
    public static let update = MethodDescriptor(service: serviceName, name: "Update", kind: .bidirectionalStreaming)

    private static let runningHandlers = Atomic<Int>(0)

    /// Handlers that have started and not yet returned (or thrown).
    public static var running: Int { runningHandlers.load(ordering: .relaxed) }

    private static func counted<T>(_ body: () async throws -> T) async throws -> T {
        runningHandlers.add(1, ordering: .relaxed)
        defer { runningHandlers.subtract(1, ordering: .relaxed) }
        return try await body()
    }

    /// The service.
    public init() {}

    /// Registers the four methods.
    public func register(with router: inout Router) {
        router.unary(Self.get) { (request: Google_Protobuf_BytesValue, _) in
            try await Self.counted { request }
        }
        router.serverStreaming(Self.expand) { (request: Google_Protobuf_BytesValue, writer, _) in
            try await Self.counted {
                for _ in 0..<3 { try await writer.write(request) }
            }
        }
        router.clientStreaming(Self.collect) { (requests: RequestStream<Google_Protobuf_BytesValue>, _) in
            try await Self.counted {
                var joined = Google_Protobuf_BytesValue()
                for try await request in requests { joined.value.append(request.value) }
                return joined
            }
        }
        router.bidirectionalStreaming(Self.update) {
            (requests: RequestStream<Google_Protobuf_BytesValue>, writer, _) in
            try await Self.counted {
                for try await request in requests { try await writer.write(request) }
            }
        }
    }
}
