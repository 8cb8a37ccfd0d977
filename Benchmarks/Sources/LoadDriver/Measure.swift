#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic time in nanoseconds.
@inline(__always)
func nowNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// CPU time (user + system) this process has used, in seconds.
func processCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// This process's resident memory now (VmRSS), in KiB; nil where procfs is missing.
func residentKiB() -> Int? {
    guard let status = readSmallFile("/proc/self/status") else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
    return nil
}

/// Reads a whole small file (procfs, the malloc counter's report).
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Another process's CPU time (utime + stime from /proc/PID/stat), in seconds.
func serverCPUSeconds(pid: Int32) -> Double? {
    guard let stat = readSmallFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
    // Fields after "comm)": state is field 3, utime 14, stime 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Asks a process running under the malloc counter (Benchmarks/MallocCounter) for its
/// allocation count: SIGUSR2, then waits for the report file.
func mallocCount(pid: Int32, file: String) async -> UInt64? {
    unlink(file)
    guard kill(pid, SIGUSR2) == 0 else { return nil }
    for _ in 0..<2000 {
        if let text = readSmallFile(file), text.hasSuffix("\n"),
            let first = text.split(separator: " ").first, let count = UInt64(first)
        {
            return count
        }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return nil
}

/// What is read at the start and at the end of the measured phase.
struct Snapshot {
    var nanos: UInt64
    var clientCPU: Double
    var serverCPU: Double?
    var allocations: UInt64?

    static func take(_ options: Options) async -> Snapshot {
        var allocations: UInt64?
        if let pid = options.serverPID, let file = options.mallocFile {
            allocations = await mallocCount(pid: pid, file: file)
        }
        return Snapshot(
            nanos: nowNanos(),
            clientCPU: processCPUSeconds(),
            serverCPU: options.serverPID.flatMap { serverCPUSeconds(pid: $0) },
            allocations: allocations
        )
    }
}

/// The value at quantile `q` of sorted samples (nearest rank).
func percentile(_ sorted: [UInt64], _ q: Double) -> UInt64? {
    guard !sorted.isEmpty else { return nil }
    let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

/// One JSON object on one line, fields in insertion order.
struct JSONLine {
    private var fields: [String] = []

    mutating func add(_ key: String, _ value: Int) { self.fields.append("\"\(key)\":\(value)") }
    mutating func add(_ key: String, _ value: UInt64) { self.fields.append("\"\(key)\":\(value)") }
    mutating func add(_ key: String, _ value: Double?, digits: Int = 3) {
        guard let value, value.isFinite else {
            self.fields.append("\"\(key)\":null")
            return
        }
        self.fields.append("\"\(key)\":\(Self.format(value, digits: digits))")
    }
    mutating func add(_ key: String, _ value: String?) {
        guard let value else {
            self.fields.append("\"\(key)\":null")
            return
        }
        self.fields.append("\"\(key)\":\(Self.quote(value))")
    }

    var text: String { "{" + self.fields.joined(separator: ",") + "}" }

    static func format(_ value: Double, digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value * scale).rounded()
        guard abs(scaled) < 9e15 else { return "\(value)" }
        let integer = Int64(scaled)
        let sign = integer < 0 ? "-" : ""
        let magnitude = integer.magnitude
        let whole = magnitude / UInt64(scale)
        let fraction = magnitude % UInt64(scale)
        if digits == 0 { return "\(sign)\(whole)" }
        let fractionText = String(fraction)
        return "\(sign)\(whole)." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Writes one line to stdout and flushes it at once (the harness reads it as it comes).
func emitLine(_ line: String) {
    let text = line + "\n"
    var written = 0
    let bytes = Array(text.utf8)
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        written += n
    }
}
