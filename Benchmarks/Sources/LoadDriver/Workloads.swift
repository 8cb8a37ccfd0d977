import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the workload named on the command line with `factory`'s client and prints one JSON
/// line of results. Exits 1 when any call failed or answered wrongly.
public enum LoadDriver {
    public static func main<F: BenchClientFactory>(client: String, factory: F) async -> Never {
        let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
        var line = JSONLine()
        line.add("client", client)
        line.add("workload", options.workload.rawValue)
        let errors: Int
        switch options.workload {
        case .unary: errors = await unary(options, factory, into: &line)
        case .stream: errors = await stream(options, factory, into: &line)
        case .pingpong: errors = await pingpong(options, factory, into: &line)
        case .idle: errors = await idle(options, factory, into: &line)
        case .streams: errors = await streams(options, factory, into: &line)
        }
        emitLine(line.text)
        exit(errors == 0 ? 0 : 1)
    }
}

// MARK: - Phases and tallies

/// Warm-up, then the measured phase, then stop: read by every worker after every call.
final class Phase: Sendable {
    static let warmup = 0, measuring = 1, stopping = 2
    private let value = Atomic<Int>(Phase.warmup)

    var current: Int { self.value.load(ordering: .relaxed) }
    func set(_ phase: Int) { self.value.store(phase, ordering: .relaxed) }
}

/// What workers count; merged at the end.
struct Tally: Sendable {
    /// Calls (unary) or messages (streams) completed in the measured phase.
    var completed = 0
    var latencies: [UInt64] = []
    var errors = 0
    var firstError: String?

    mutating func fail(_ error: any Error) {
        self.errors += 1
        if self.firstError == nil { self.firstError = "\(error)" }
    }

    mutating func merge(_ other: Tally) {
        self.completed += other.completed
        self.latencies += other.latencies
        self.errors += other.errors
        if self.firstError == nil { self.firstError = other.firstError }
    }
}

/// A name of `bytes` ASCII characters (so Unicode scalars = bytes).
func makeName(_ bytes: Int) -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz".utf8)
    return String(decoding: (0..<bytes).map { alphabet[$0 % alphabet.count] }, as: UTF8.self)
}

/// Opens `count` connections and makes each real with one verified getInfor; at most
/// `parallel` at a time.
func openConnections<F: BenchClientFactory>(
    _ options: Options, _ factory: F, count: Int, parallel: Int = 64, tally: inout Tally
) async -> [F.Connection] {
    var opened: [F.Connection] = []
    var start = 0
    while start < count {
        let batch = min(parallel, count - start)
        let results = await withTaskGroup(of: (F.Connection?, (any Error)?).self) { group in
            for _ in 0..<batch {
                group.addTask {
                    do {
                        let connection = try await factory.connect(host: options.host, port: options.port)
                        do {
                            let reply = try await connection.getInfor(name: "trung")
                            guard reply.name == "trung", reply.id == 5, !reply.married else {
                                return (connection, DriverError("wrong getInfor answer: \(reply)"))
                            }
                            return (connection, nil)
                        } catch {
                            return (connection, error)
                        }
                    } catch {
                        return (nil, error)
                    }
                }
            }
            var results: [(F.Connection?, (any Error)?)] = []
            for await result in group { results.append(result) }
            return results
        }
        for (connection, error) in results {
            if let connection { opened.append(connection) }
            if let error { tally.fail(error) }
        }
        start += batch
    }
    return opened
}

func closeAll<C: BenchConnection>(_ connections: [C]) async {
    await withTaskGroup(of: Void.self) { group in
        for connection in connections { group.addTask { await connection.close() } }
    }
}

/// Warm-up, measured phase, stop: returns the snapshots taken around the measured phase.
func runPhases(_ options: Options, _ phase: Phase) async -> (Snapshot, Snapshot) {
    try? await Task.sleep(for: .seconds(options.warmup))
    let start = await Snapshot.take(options)
    phase.set(Phase.measuring)
    try? await Task.sleep(for: .seconds(options.duration))
    phase.set(Phase.stopping)
    let end = await Snapshot.take(options)
    return (start, end)
}

/// Adds the common result fields: rate, MB/s, latency percentiles, CPU and allocations per item.
func report(
    _ tally: Tally, _ start: Snapshot, _ end: Snapshot, bytesPerItem: Int, into line: inout JSONLine
) {
    let seconds = Double(end.nanos - start.nanos) / 1e9
    let items = Double(tally.completed)
    line.add("seconds", seconds)
    line.add("completed", tally.completed)
    line.add("rate", items / seconds, digits: 1)
    line.add("mb_per_s", items * Double(bytesPerItem) / seconds / 1e6)
    let sorted = tally.latencies.sorted()
    line.add("p50_us", percentile(sorted, 0.50).map { Double($0) / 1e3 }, digits: 1)
    line.add("p99_us", percentile(sorted, 0.99).map { Double($0) / 1e3 }, digits: 1)
    let perItem = items > 0 ? 1e6 / items : Double.nan
    line.add("client_cpu_s", end.clientCPU - start.clientCPU)
    line.add("client_cpu_us_per_item", (end.clientCPU - start.clientCPU) * perItem, digits: 2)
    if let before = start.serverCPU, let after = end.serverCPU {
        line.add("server_cpu_s", after - before)
        line.add("server_cpu_us_per_item", (after - before) * perItem, digits: 2)
    }
    if let before = start.allocations, let after = end.allocations, items > 0 {
        line.add("server_allocs_per_item", Double(after &- before) / items, digits: 2)
    }
    line.add("errors", tally.errors)
    line.add("first_error", tally.firstError)
}

// MARK: - unary

/// getInfor in a loop on connections x concurrency tasks.
func unary<F: BenchClientFactory>(_ options: Options, _ factory: F, into line: inout JSONLine) async -> Int {
    var tally = Tally()
    let connections = await openConnections(options, factory, count: options.connections, tally: &tally)
    let name = makeName(options.payload)
    let expectedID = Int32(options.payload)
    let phase = Phase()
    let phases = Task { await runPhases(options, phase) }
    await withTaskGroup(of: Tally.self) { group in
        for connection in connections {
            for _ in 0..<options.concurrency {
                group.addTask {
                    var tally = Tally()
                    while phase.current != Phase.stopping {
                        let began = nowNanos()
                        do {
                            let reply = try await connection.getInfor(name: name)
                            guard reply.id == expectedID, reply.married == (expectedID % 2 == 0), reply.name == name
                            else {
                                throw DriverError(
                                    "wrong getInfor answer (id \(reply.id), \(reply.name.utf8.count) name bytes)")
                            }
                            if phase.current == Phase.measuring {
                                tally.completed += 1
                                tally.latencies.append(nowNanos() - began)
                            }
                        } catch {
                            tally.fail(error)
                            try? await Task.sleep(for: .milliseconds(10))
                        }
                    }
                    return tally
                }
            }
        }
        for await worker in group { tally.merge(worker) }
    }
    let (start, end) = await phases.value
    line.add("connections", options.connections)
    line.add("concurrency", options.concurrency)
    line.add("payload", options.payload)
    report(tally, start, end, bytesPerItem: options.payload, into: &line)
    // With its channels still open: what the client holds for them (over many backends,
    // the load-balancing section compares it with one address).
    line.add("client_rss_kib", residentKiB().map { Double($0) }, digits: 0)
    await closeAll(connections)
    return tally.errors
}

// MARK: - stream

/// Echo throughput: each call keeps `window` messages in flight until the measured phase
/// ends, then drains, ends its requests and expects the end of the responses.
func stream<F: BenchClientFactory>(_ options: Options, _ factory: F, into line: inout JSONLine) async -> Int {
    var tally = Tally()
    let connections = await openConnections(options, factory, count: options.connections, tally: &tally)
    let name = makeName(options.payload)
    let phase = Phase()
    let window = options.window
    let phases = Task { await runPhases(options, phase) }
    await withTaskGroup(of: Tally.self) { group in
        for connection in connections {
            for _ in 0..<options.concurrency {
                group.addTask {
                    var tally = Tally()
                    do {
                        tally = try await connection.echo { call in
                            var tally = Tally()
                            var sent: Int32 = 0
                            var received: Int32 = 0
                            while sent < window {
                                try await call.send(name: name, id: sent)
                                sent += 1
                            }
                            while received < sent {
                                guard let reply = try await call.receive() else {
                                    throw DriverError("Echo ended after \(received) of \(sent) messages")
                                }
                                guard reply.id == received, reply.married == (received % 2 == 0), reply.name == name
                                else {
                                    throw DriverError("wrong echo: id \(reply.id), expected \(received)")
                                }
                                received += 1
                                let current = phase.current
                                if current == Phase.measuring { tally.completed += 1 }
                                if current != Phase.stopping {
                                    try await call.send(name: name, id: sent)
                                    sent += 1
                                }
                            }
                            try await call.finishSending()
                            if try await call.receive() != nil {
                                throw DriverError("Echo sent more messages than it got")
                            }
                            return tally
                        }
                    } catch {
                        tally.fail(error)
                    }
                    return tally
                }
            }
        }
        for await worker in group { tally.merge(worker) }
    }
    let (start, end) = await phases.value
    line.add("connections", options.connections)
    line.add("calls_per_connection", options.concurrency)
    line.add("window", options.window)
    line.add("payload", options.payload)
    report(tally, start, end, bytesPerItem: options.payload, into: &line)
    await closeAll(connections)
    return tally.errors
}

// MARK: - pingpong

/// One Echo call, one message in flight: round-trip latency.
func pingpong<F: BenchClientFactory>(_ options: Options, _ factory: F, into line: inout JSONLine) async -> Int {
    var tally = Tally()
    let connections = await openConnections(options, factory, count: 1, tally: &tally)
    guard let connection = connections.first else {
        line.add("errors", tally.errors)
        line.add("first_error", tally.firstError)
        return max(tally.errors, 1)
    }
    let name = makeName(options.payload)
    let phase = Phase()
    let phases = Task { await runPhases(options, phase) }
    do {
        let measured = try await connection.echo { call in
            var tally = Tally()
            var id: Int32 = 0
            while phase.current != Phase.stopping {
                let began = nowNanos()
                try await call.send(name: name, id: id)
                guard let reply = try await call.receive() else { throw DriverError("Echo ended early") }
                guard reply.id == id, reply.name == name else {
                    throw DriverError("wrong echo: id \(reply.id), expected \(id)")
                }
                if phase.current == Phase.measuring {
                    tally.completed += 1
                    tally.latencies.append(nowNanos() - began)
                }
                id &+= 1
            }
            try await call.finishSending()
            if try await call.receive() != nil { throw DriverError("Echo sent more messages than it got") }
            return tally
        }
        tally.merge(measured)
    } catch {
        tally.fail(error)
    }
    let (start, end) = await phases.value
    line.add("payload", options.payload)
    report(tally, start, end, bytesPerItem: options.payload, into: &line)
    await closeAll(connections)
    return tally.errors
}

// MARK: - idle

/// Reads one line from stdin (or EOF) without blocking a concurrency thread.
func waitForStdinLine() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().async {
            _ = readLine()
            continuation.resume()
        }
    }
}

/// Opens `base` connections, reports, opens the rest, reports, holds them until told to go.
func idle<F: BenchClientFactory>(_ options: Options, _ factory: F, into line: inout JSONLine) async -> Int {
    var tally = Tally()
    let base = min(options.base, options.connections)
    var began = nowNanos()
    var connections = await openConnections(options, factory, count: base, tally: &tally)
    var opening = nowNanos() - began
    emitLine("ready \(connections.count)")
    await waitForStdinLine()
    began = nowNanos()
    connections += await openConnections(options, factory, count: options.connections - base, tally: &tally)
    opening += nowNanos() - began
    let opened = Double(opening) / 1e9
    emitLine("ready \(connections.count)")
    await waitForStdinLine()
    line.add("connections", connections.count)
    line.add("base", base)
    line.add("open_seconds", opened)
    line.add("errors", tally.errors)
    line.add("first_error", tally.firstError)
    await closeAll(connections)
    return tally.errors
}

// MARK: - streams

/// Sets a flag once.
final class Once: Sendable {
    private let done = Atomic<Bool>(false)
    /// True the first time only.
    func claim() -> Bool { !self.done.exchange(true, ordering: .relaxed) }
}

/// `streams` concurrent Echo calls: each sends one message and waits for its echo; when
/// every call has its echo (or has failed), all end together.
func streams<F: BenchClientFactory>(_ options: Options, _ factory: F, into line: inout JSONLine) async -> Int {
    var tally = Tally()
    let connections = await openConnections(options, factory, count: options.connections, tally: &tally)
    guard !connections.isEmpty else {
        line.add("errors", max(tally.errors, 1))
        line.add("first_error", tally.firstError)
        return max(tally.errors, 1)
    }
    let name = makeName(options.payload)
    let total = options.streams
    let barrier = Barrier(count: total)
    let began = nowNanos()
    let released = Task { () -> UInt64 in
        await barrier.wait()
        return nowNanos()
    }
    await withTaskGroup(of: Tally.self) { group in
        for index in 0..<total {
            let connection = connections[index % connections.count]
            group.addTask {
                var tally = Tally()
                let arrival = Once()
                do {
                    try await connection.echo { call in
                        var failure: (any Error)?
                        do {
                            try await call.send(name: name, id: Int32(index))
                            guard let reply = try await call.receive() else {
                                throw DriverError("Echo ended before its echo")
                            }
                            guard reply.id == Int32(index), reply.name == name else { throw DriverError("wrong echo") }
                        } catch {
                            failure = error
                        }
                        if arrival.claim() { barrier.arrive() }
                        await barrier.wait()
                        if let failure { throw failure }
                        try await call.finishSending()
                        if try await call.receive() != nil { throw DriverError("Echo sent more than one message") }
                    }
                    tally.completed = 1
                } catch {
                    if arrival.claim() { barrier.arrive() }
                    tally.fail(error)
                }
                return tally
            }
        }
        for await stream in group { tally.merge(stream) }
    }
    let ended = nowNanos()
    let allEchoed = await released.value
    line.add("connections", connections.count)
    line.add("streams", total)
    line.add("completed", tally.completed)
    line.add("all_echoed_s", Double(allEchoed - began) / 1e9)
    line.add("seconds", Double(ended - began) / 1e9)
    line.add("errors", tally.errors)
    line.add("first_error", tally.firstError)
    await closeAll(connections)
    return tally.errors
}
