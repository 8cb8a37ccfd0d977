// Fuzzes the client's reading of a response: a call (`ClientStream`) on the client's
// connection pipeline (NIOHTTP2Handler, then ClientConnectionHandler) on an `EmbeddedChannel`,
// fed arbitrary bytes as the server's. That covers the response head (`ResponseHead.parse`),
// the messages (deframing, decompression, the flow-control window given back as they are
// read), the trailers (`GRPCHeaders.status`, grpc-message, grpc-status-details-bin), RST_STREAM
// and GOAWAY.
//
// Input: byte 0 picks the call's kind (bits 0-1: unary, server, client or bidirectional
// streaming) and whether it has a deadline 20 ms away (bit 2; the clock moves 5 ms a read);
// bytes 1-2 seed how the rest is split into reads; the rest is what the server sends after
// its SETTINGS (which the harness sends). The call is stream 1. After each read the reader
// takes every message that arrived and decodes it. Checked for every input: no crash, no
// trap; no message past the limit; a call that ends with OK has seen its response headers
// (or is trailers-only) and a unary one has exactly one message; and once the connection
// closes, the call has ended (no call hangs).
import FuzzSupport
import GRPCSimple
import NIOCore
import NIOEmbedded
import NIOHTTP2
import SwiftProtobuf

@testable import GRPCSimple

private let methods = [FuzzEchoService.get, FuzzEchoService.expand, FuzzEchoService.collect, FuzzEchoService.update]
private let maximumMessageSize = 4096
/// An empty SETTINGS frame: the server's preface.
private let serverPreface = ByteBuffer(bytes: [0, 0, 0, 4, 0, 0, 0, 0, 0])

/// One input (`count` bytes at `start`): libFuzzer's `LLVMFuzzerTestOneInput`. Returns 0; a
/// broken invariant stops the process.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientResponse(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let options = input.byte()
    let method = methods[Int(options & 0x03)]
    let hasDeadline = options & 0x04 != 0
    let seed = input.uint16()
    let reads = chunks(of: input.rest(), seed: seed, maximum: 512)

    let channel = EmbeddedChannel()
    let connection = ClientConnectionHandler(
        eventLoop: channel.embeddedEventLoop, authority: "localhost", target: "fuzz", connectionWindowSize: 65535)
    do {
        try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client))
        try channel.pipeline.syncOperations.addHandler(connection)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50051)).wait()
    } catch {
        fatalError("could not set up the connection: \(error)")
    }
    let stream = ClientStream(
        method: method, options: .defaults, deadline: hasDeadline ? .now + .milliseconds(20) : nil,
        maximumMessageSize: maximumMessageSize, windowSize: 65535)
    ClientCallStart.armDeadline(stream, eventLoop: channel.embeddedEventLoop)
    var request = ByteBuffer()
    request.writeBytes([0, 0, 0, 0, 2, 0x0a, 0])  // an envelope holding BytesValue { value: "" }
    stream.send(request, end: !method.kind.streamsRequests, tracked: false)
    connection.open(stream)
    if method.kind.streamsRequests {
        stream.send(request, end: false, tracked: false)
        stream.closeSend()
    }

    var messages = 0
    func readMessages() {
        channel.embeddedEventLoop.run()
        while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
        // The caller of a streaming call reads each message as it arrives; a unary call's
        // caller waits for the end.
        guard method.kind != .unary else { return }
        while let message = stream.inbound.take() {
            messages += 1
            fuzzCheck(message.readableBytes <= maximumMessageSize, "a message of \(message.readableBytes) bytes")
            _ = try? ProtobufCodec.decode(Google_Protobuf_BytesValue.self, from: message, what: "a response")
            stream.grantWindowIfDue()
        }
        channel.embeddedEventLoop.run()
        while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
    }

    do {
        try channel.writeInbound(serverPreface)
    } catch {}
    readMessages()
    for bytes in reads where channel.isActive {
        do {
            try channel.writeInbound(ByteBuffer(fuzzBytes: bytes))
        } catch {
            // A connection error NIOHTTP2 passed on; the connection handler closes.
        }
        readMessages()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(5))
        readMessages()
    }

    switch stream.outcome {
    case .success:
        fuzzCheck(stream.responseMetadata != nil, "a call ended OK without response headers")
        if method.kind == .unary {
            switch stream.unaryResult() {
            case .success(let result):
                fuzzCheck(result.message.readableBytes <= maximumMessageSize, "a unary response past the limit")
            case .failure(let error):
                fuzzCheck(stream.inbound.receivedCount != 1, "one response, yet the unary call failed: \(error)")
            }
        }
    case .failure(let error):
        fuzzCheck(error.code != .ok, "a call failed with OK")
    case nil:
        break
    }

    // The connection closes: the call must end.
    _ = try? channel.finish(acceptAlreadyClosed: true)
    channel.embeddedEventLoop.run()
    channel.embeddedEventLoop.advanceTime(by: .hours(1))
    channel.embeddedEventLoop.run()
    fuzzCheck(stream.isFinished, "the call has not ended after its connection closed")
    fuzzCheck(stream.outcome != nil, "the call has no outcome after its connection closed")
    _ = messages
    return 0
}
