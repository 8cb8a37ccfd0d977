#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The workloads; see `usage`.
public enum Workload: String, Sendable, CaseIterable {
    case unary, stream, pingpong, idle, streams
}

/// Command-line options, with each workload's defaults filled in.
public struct Options: Sendable {
    var workload: Workload
    var host = "127.0.0.1"
    var port = 0
    /// Client connections (channels).
    var connections = 1
    /// unary: calls in flight per connection; stream: Echo calls per connection.
    var concurrency = 1
    /// Bytes of the `name` sent in every request / message.
    var payload = 5
    /// Seconds of the measured phase, and of the warm-up before it.
    var duration = 5.0
    var warmup = 1.0
    /// stream: messages in flight per Echo call.
    var window = 100
    /// streams: concurrent Echo streams in all.
    var streams = 10_000
    /// idle: connections opened first, for the baseline sample.
    var base = 100
    /// The server's PID: its CPU time is read from /proc at the start and end of the
    /// measured phase; with `mallocFile`, its allocation count too (malloc counter).
    var serverPID: Int32?
    var mallocFile: String?

    static let usage = """
        usage: CLIENT WORKLOAD --port P [options]
          workloads:
            unary     getInfor: --connections N (4) x --concurrency M (100) calls in flight,
                      --payload BYTES (5) name length
            stream    StreamBench.Echo throughput: --connections N (1) x --concurrency C (1) calls,
                      --window W (100) messages in flight each, --payload BYTES (16)
            pingpong  one Echo call, one message in flight: latency; --payload BYTES (16)
            idle      open --connections K (1000), one getInfor each; prints `ready B` after
                      --base B (100) connections and `ready K` after all, waiting for a line
                      on stdin after each (EOF also continues); then closes them
            streams   --streams S (10000) concurrent Echo calls over --connections N (100): each
                      sends one message, waits for its echo, and all end once all have it
          options: --host H (127.0.0.1) --duration S (5) --warmup S (1)
                   --server-pid PID (server CPU per call from /proc)
                   --malloc-file F (with --server-pid: allocations per call, malloc counter)
          output: one JSON line of results on stdout
        """

    /// Parses `arguments` (without the program name); exits with a usage message on errors.
    public static func parse(_ arguments: [String]) -> Options {
        var arguments = arguments[...]
        guard let first = arguments.popFirst(), let workload = Workload(rawValue: first) else {
            fail("the first argument must be a workload: \(Workload.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var options = Options(workload: workload)
        switch workload {
        case .unary: (options.connections, options.concurrency, options.payload) = (4, 100, 5)
        case .stream: (options.connections, options.concurrency, options.payload) = (1, 1, 16)
        case .pingpong: (options.connections, options.concurrency, options.payload) = (1, 1, 16)
        case .idle: (options.connections, options.payload) = (1000, 5)
        case .streams: (options.connections, options.payload) = (100, 16)
        }
        var sawPort = false
        while let argument = arguments.popFirst() {
            func value() -> String {
                guard let value = arguments.popFirst() else { fail("\(argument) needs a value") }
                return value
            }
            func int(_ range: ClosedRange<Int> = 1...Int.max) -> Int {
                let text = value()
                guard let parsed = Int(text), range.contains(parsed) else { fail("\(argument): bad value '\(text)'") }
                return parsed
            }
            func seconds() -> Double {
                let text = value()
                guard let parsed = Double(text), parsed >= 0 else { fail("\(argument): bad value '\(text)'") }
                return parsed
            }
            switch argument {
            case "--host": options.host = value()
            case "--port":
                options.port = int(1...65535)
                sawPort = true
            case "--connections": options.connections = int()
            case "--concurrency": options.concurrency = int()
            case "--payload": options.payload = int(0...Int.max)
            case "--duration": options.duration = seconds()
            case "--warmup": options.warmup = seconds()
            case "--window": options.window = int()
            case "--streams": options.streams = int()
            case "--base": options.base = int(0...Int.max)
            case "--server-pid": options.serverPID = Int32(int(1...Int(Int32.max)))
            case "--malloc-file": options.mallocFile = value()
            case "-h", "--help":
                emitLine(usage)
                exit(0)
            default: fail("unknown argument '\(argument)'")
            }
        }
        guard sawPort else { fail("--port is required") }
        return options
    }

    static func fail(_ message: String) -> Never {
        let text = "error: \(message)\n\(usage)\n"
        _ = Array(text.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
}
