// owned-frame-server: the server's own HTTP/2 transport with no gRPC layer, the ceiling of the
// Performance issue. The transport is the library's `GRPCSimpleHTTP2` (frame parser, stream
// table, flow control, SETTINGS/PING/GOAWAY/RST_STREAM, CONTINUATION, NIOHPACK for header
// compression; no NIOHTTP2), compiled here as the target OwnedHTTP2, whose folder is a symlink
// to Sources/GRPCSimpleHTTP2 (the root package offers it as no product). On SwiftNIO's
// channel and ByteBuffer, it answers like raw-frame-server: on the end of a request, HEADERS
// (:status 200, content-type application/grpc), DATA with the canned Person{name:"trung", id:5,
// married:false} and trailers (grpc-status 0, END_STREAM). Requests to /StreamBench/Echo get a
// verbatim echo instead: each DATA frame's bytes back on the same stream as they arrive,
// trailers at the request's end. All frames a read burst produces go out in one buffer,
// flushed once at channelReadComplete.
// Usage: owned-frame-server [--port P]   (P = 0 picks a free port)
import NIOCore
import NIOHPACK
import NIOPosix
import OwnedHTTP2

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let responseHeaders: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
let responseTrailers: HPACKHeaders = ["grpc-status": "0"]
let responseBody = ByteBuffer(bytes: [
    0x00, 0x00, 0x00, 0x00, 0x09, 0x0a, 0x05, 0x74, 0x72, 0x75, 0x6e, 0x67, 0x10, 0x05,
])
let echoPath = "/StreamBench/Echo"

/// Stream tags: what a stream's later events are for.
enum Route {
    static let canned: UInt8 = 0
    /// Echo, response HEADERS not sent yet.
    static let echo: UInt8 = 1
    /// Echo, response HEADERS sent.
    static let echoing: UInt8 = 2
}

/// Drives an `HTTP2ServerConnection` from the channel: bytes in, events to the canned responder,
/// output written and flushed once per read burst. Stops reading while the channel is not
/// writable (a client that does not read cannot make us buffer without bound).
final class OwnedFrameHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var connection: HTTP2ServerConnection
    private var started = false
    private var closing = false
    /// A read() held back while the channel was not writable.
    private var readPending = false

    init(allocator: ByteBufferAllocator) {
        self.connection = HTTP2ServerConnection(allocator: allocator)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            self.start(context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !self.started else { return }
        self.started = true
        self.connection.start()
        self.flushOutput(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.connection.receive(self.unwrapInboundIn(data))
        while let event = self.connection.nextEvent() {
            self.handle(event)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.flushOutput(context: context)
        if self.connection.isClosed || (self.connection.peerWentAway && self.connection.activeStreams == 0) {
            self.close(context: context)
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client half-closed: answer what it sent, GOAWAY, close.
            self.connection.receiveEndOfInput()
            self.flushOutput(context: context)
            self.close(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable || self.closing {
            context.read()
        } else {
            self.readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, self.readPending {
            self.readPending = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    private func flushOutput(context: ChannelHandlerContext) {
        if self.connection.hasOutput {
            context.writeAndFlush(self.wrapOutboundOut(self.connection.takeOutput()), promise: nil)
        }
    }

    /// Closes once the writes already flushed (a GOAWAY among them) are out.
    private func close(context: ChannelHandlerContext) {
        guard !self.closing else { return }
        self.closing = true
        let channel = context.channel
        // Writes complete in order: this empty one completes after everything before it.
        context.writeAndFlush(self.wrapOutboundOut(ByteBuffer())).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    // The canned application.

    private func handle(_ event: HTTP2ServerEvent) {
        switch event {
        case .requestHead(let streamID, let path, _, let endStream):
            if path == echoPath {
                if endStream {
                    self.echo(streamID: streamID, tag: Route.echo, data: nil, end: true)
                } else {
                    self.connection.setTag(Route.echo, streamID: streamID)
                }
            } else if endStream {
                self.respond(streamID: streamID)
            }
        case .requestData(let streamID, let tag, let data, let endStream, let flowControlledLength):
            // The canned application reads at once: the window comes back as DATA arrives.
            self.connection.dataConsumed(streamID: streamID, bytes: flowControlledLength)
            if tag == Route.canned {
                if endStream { self.respond(streamID: streamID) }
            } else {
                self.echo(streamID: streamID, tag: tag, data: data, end: endStream)
            }
        case .requestTrailers(let streamID, let tag, _):
            if tag == Route.canned {
                self.respond(streamID: streamID)
            } else {
                self.echo(streamID: streamID, tag: tag, data: nil, end: true)
            }
        case .streamReset, .goAway, .connectionError, .pingReceived, .pingAcknowledged:
            break  // nothing per stream to clean up; a connection error closes at read complete
        }
    }

    private func respond(streamID: UInt32) {
        self.connection.sendHeaders(streamID: streamID, headers: responseHeaders)
        self.connection.sendData(streamID: streamID, data: responseBody)
        self.connection.sendTrailers(streamID: streamID, trailers: responseTrailers)
    }

    private func echo(streamID: UInt32, tag: UInt8, data: ByteBuffer?, end: Bool) {
        var headersSent = tag == Route.echoing
        if let data, data.readableBytes > 0 {
            if !headersSent {
                self.connection.sendHeaders(streamID: streamID, headers: responseHeaders)
                headersSent = true
                if !end { self.connection.setTag(Route.echoing, streamID: streamID) }
            }
            self.connection.sendData(streamID: streamID, data: data)
        }
        if end {
            if !headersSent {
                self.connection.sendHeaders(streamID: streamID, headers: responseHeaders)
            }
            self.connection.sendTrailers(streamID: streamID, trailers: responseTrailers)
        }
    }
}

var port = 0
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--port", let value = arguments.next(), let parsed = Int(value) {
        port = parsed
    } else {
        print("usage: owned-frame-server [--port P]")
        exit(2)
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 256)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.allowRemoteHalfClosure, value: true)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(OwnedFrameHandler(allocator: channel.allocator))
        }
    }
    .bind(host: "127.0.0.1", port: port)
    .wait()

print("listening on 127.0.0.1:\(channel.localAddress?.port ?? port)")
fflush(nil)
try channel.closeFuture.wait()
try group.syncShutdownGracefully()
