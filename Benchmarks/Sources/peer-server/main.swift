// peer-server: grpc-swift-2 (GRPCCore + GRPCNIOTransportHTTP2 + GRPCProtobuf) serving the
// seed's AsillaService and StreamBench.Echo, so that gRPC Simple's bench-server and
// grpc-swift-2 can be driven by the same load generators.
//
//   peer-server --port P [--threads T] [--stock-http2]
//
// Logic is deterministic (unlike the seed example, which uses a random id):
//   getInfor(name)     -> Person(name, id = number of Unicode scalars in name, married = id is even)
//   checkMarried(name) -> married = (number of Unicode scalars in name) is even
//
// Listens on 127.0.0.1 only, plaintext HTTP/2 (`.http2NIOPosix`). `--port 0` binds a free port;
// the bound port is read back from the transport and printed as `listening on 127.0.0.1:PORT`.
// `--threads` is the number of NIO event-loop threads (default 1). By default the HTTP/2
// settings match person-server's (100 concurrent streams, 1 MiB target window, 16 KiB frames);
// `--stock-http2` keeps grpc-swift-nio-transport's defaults instead (unlimited streams,
// 64 KiB - 1 window).
// The services are in Sources/PeerBenchService, generated code by scripts/generate.
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOPosix
import PeerBenchService

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func usage(_ message: String) -> Never {
    Stderr.emit("peer-server: \(message)\nusage: peer-server --port P [--threads T] [--stock-http2]\n")
    exit(2)
}

enum Stderr {
    static func emit(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    }
}

var port: Int?
var threads = 1
var stockHTTP2 = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--port":
        guard let value = arguments.popFirst(), let parsed = Int(value), (0...65535).contains(parsed)
        else { usage("--port needs a number in 0...65535") }
        port = parsed
    case "--threads":
        guard let value = arguments.popFirst(), let parsed = Int(value), parsed >= 1
        else { usage("--threads needs a positive number") }
        threads = parsed
    case "--stock-http2":
        stockHTTP2 = true
    case "-h", "--help":
        print("usage: peer-server --port P [--threads T] [--stock-http2]")
        exit(0)
    default:
        usage("unknown argument '\(argument)'")
    }
}
guard let port else { usage("--port is required") }

let config = HTTP2ServerTransport.Posix.Config.defaults { config in
    if !stockHTTP2 {
        config.http2.maxConcurrentStreams = 100
        config.http2.targetWindowSize = 1 << 20
        config.http2.maxFrameSize = 1 << 14
    }
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let transport = HTTP2ServerTransport.Posix(
    address: .ipv4(host: "127.0.0.1", port: port),
    transportSecurity: .plaintext,
    config: config,
    eventLoopGroup: group
)
let server = GRPCServer(transport: transport, services: [PeerAsillaService(), PeerStreamService()])

do {
    try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await server.serve() }
        let address = try await transport.listeningAddress
        guard let ipv4 = address.ipv4 else {
            throw RPCError(code: .internalError, message: "unexpected listening address \(address)")
        }
        print("listening on \(ipv4.host):\(ipv4.port)")
        fflush(nil)  // flushes stdout (the `stdout` global is not concurrency-safe in Swift 6)
    }
} catch {
    Stderr.emit("peer-server: \(error)\n")
    exit(1)
}
