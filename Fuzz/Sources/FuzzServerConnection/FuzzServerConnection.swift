// Fuzzes the whole server connection: the pipeline a `Server` gives each accepted connection
// (ServerConnectionHandler, its HTTP/2 transport and the calls it runs), on an
// `EmbeddedChannel` (no sockets, no threads: handlers run on the channel's loop as its tasks
// are run), fed arbitrary bytes after a valid client preface.
//
// Input: bytes 0-1 seed how the rest is split into reads; the rest is what the client sends
// after the preface's magic (the seeds start with its SETTINGS), calling `fuzz.Echo`'s four
// methods. Between reads the loop runs its tasks and the clock moves on 5 ms (so grpc-timeout
// deadlines fire). Checked for every input: no crash, no trap; and once the connection is
// closed and the clock has moved past every timer, no call is left: the connection's table
// is empty and every handler has returned (nothing hangs, nothing leaks).
import FuzzSupport
import GRPCSimple
import Logging
import NIOCore
import NIOEmbedded

@testable import GRPCSimple

private let server: Server = {
    var configuration = Server.Configuration()
    configuration.logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
    // Small limits, so that inputs reach them.
    configuration.maximumReceiveMessageSize = 4096
    configuration.maximumConcurrentStreams = 8
    configuration.maximumHeaderListSize = 4096
    return Server(services: [FuzzEchoService()], workers: 1, configuration: configuration)
}()

private let magic = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

/// The pipeline of `Server.configure` (Server+Pipeline.swift), without TLS and without the
/// server's table of connections.
private func makeConnection(on channel: EmbeddedChannel) throws -> Server.HTTP2ConnectionHandler {
    let handler = server.makeConnectionHandler(
        configuration: server.configuration,
        router: server.router,
        executor: EventLoopTaskExecutor(eventLoop: channel.embeddedEventLoop, budget: nil),
        allocator: channel.allocator
    )
    try channel.pipeline.syncOperations.addHandler(handler)
    return handler
}

/// Runs the loop's ready tasks and drops what the server wrote.
private func settle(_ channel: EmbeddedChannel) {
    channel.embeddedEventLoop.run()
    while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
}

/// One input (`count` bytes at `start`): libFuzzer's `LLVMFuzzerTestOneInput`. Returns 0; a
/// broken invariant stops the process.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerConnection(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let seed = input.uint16()
    let reads = chunks(of: input.rest(), seed: seed, maximum: 512)

    let channel = EmbeddedChannel()
    let handler: Server.HTTP2ConnectionHandler
    do {
        handler = try makeConnection(on: channel)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50051)).wait()
        try channel.writeInbound(magic)
    } catch {
        fatalError("could not set up the connection: \(error)")
    }
    settle(channel)
    for bytes in reads where channel.isActive {
        do {
            try channel.writeInbound(ByteBuffer(fuzzBytes: bytes))
        } catch {
            // An error the pipeline passed on; the connection handler closes on its own.
        }
        settle(channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(5))
        settle(channel)
    }
    // The client goes away: every call must end.
    _ = try? channel.finish(acceptAlreadyClosed: true)
    settle(channel)
    channel.embeddedEventLoop.advanceTime(by: .hours(1))
    settle(channel)
    fuzzCheck(handler.activeCalls == 0, "\(handler.activeCalls) calls left after the connection closed")
    fuzzCheck(
        FuzzEchoService.running == 0,
        "\(FuzzEchoService.running) handlers still running after the connection closed")
    return 0
}
