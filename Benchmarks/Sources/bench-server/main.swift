// bench-server: gRPC Simple serving the seed's AsillaService and StreamBench.Echo for the
// benchmarks (the services are in Sources/SimpleBenchService; peer-server serves the same
// with grpc-swift-2).
//
//   bench-server --port P [--threads T]
//
// Listens on 127.0.0.1 only; `--port 0` binds a free port, printed as
// `listening on 127.0.0.1:PORT`. `--threads` is the number of event-loop threads (default 1).
// HTTP/2 settings as peer-server's: 100 concurrent streams, 16 KiB header lists, 1 MiB stream
// window. Stop it with a signal.
import GRPCSimple
import SimpleBenchService

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func usage(_ message: String) -> Never {
    let text = "bench-server: \(message)\nusage: bench-server --port P [--threads T]\n"
    _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(2)
}

var port: Int?
var threads = 1
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
    case "-h", "--help":
        print("usage: bench-server --port P [--threads T]")
        exit(0)
    default:
        usage("unknown argument '\(argument)'")
    }
}
guard let port else { usage("--port is required") }

var configuration = Server.Configuration()
configuration.maximumConcurrentStreams = 100
configuration.maximumHeaderListSize = 16 * 1024
configuration.streamWindowSize = 1 << 20

let server = Server(
    services: [BenchAsillaService(), BenchStreamService()],
    workers: threads,
    configuration: configuration
)
do {
    try await server.start(host: "127.0.0.1", port: port)
} catch {
    usage("cannot listen on 127.0.0.1:\(port): \(error)")
}
print("listening on 127.0.0.1:\(server.port ?? port)")
fflush(nil)  // flushes stdout (the `stdout` global is not concurrency-safe in Swift 6)
await server.waitForTermination()
