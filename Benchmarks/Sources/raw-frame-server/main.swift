// raw-frame-server: NIOHTTP2Handler WITHOUT a stream multiplexer; one handler of
// HTTP2Frame on the connection channel answers on the frame's stream ID when it
// sees END_STREAM, with a canned gRPC unary response (Person{name:"trung", id:5,
// married:false}), flushes once per channelReadComplete, and sends connection- and
// stream-level WINDOW_UPDATEs itself.
// With --echo, every request gets a verbatim echo instead (for the streaming table, beside
// owned-frame-server): each DATA frame's bytes back on its stream as they arrive, response
// HEADERS before the first, trailers at the request's end. Without it nothing changes.
// Usage: raw-frame-server [--port P] [--echo]   (P = 0 picks a free port)
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

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
let windowUpdateThreshold = 32 * 1024

final class FrameHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var connectionReceived = 0
    private var streamReceived: [HTTP2StreamID: Int] = [:]
    private var needsFlush = false
    /// --echo: streams whose response HEADERS are out.
    private var echoing: Set<HTTP2StreamID> = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            if headers.endStream {
                if echoMode {
                    self.echo(context: context, streamID: frame.streamID, data: nil, end: true)
                } else {
                    self.respond(context: context, streamID: frame.streamID)
                }
            }
        case .data(let body):
            // Flow-controlled length: payload plus padding (and its length byte).
            let padding = body.paddingBytes.map { $0 + 1 } ?? 0
            let length = body.data.readableBytes + padding
            self.connectionReceived += length
            if self.connectionReceived >= windowUpdateThreshold {
                self.sendWindowUpdate(context: context, streamID: .rootStream, increment: self.connectionReceived)
                self.connectionReceived = 0
            }
            if echoMode {
                self.echo(context: context, streamID: frame.streamID, data: body.data, end: body.endStream)
            }
            if body.endStream {
                self.streamReceived.removeValue(forKey: frame.streamID)
                if !echoMode { self.respond(context: context, streamID: frame.streamID) }
            } else if length > 0 {
                let received = self.streamReceived[frame.streamID, default: 0] + length
                if received >= windowUpdateThreshold {
                    self.sendWindowUpdate(context: context, streamID: frame.streamID, increment: received)
                    self.streamReceived[frame.streamID] = 0
                } else {
                    self.streamReceived[frame.streamID] = received
                }
            }
        case .rstStream:
            self.streamReceived.removeValue(forKey: frame.streamID)
            self.echoing.remove(frame.streamID)
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.needsFlush {
            self.needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func respond(context: ChannelHandlerContext, streamID: HTTP2StreamID) {
        context.write(
            self.wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: responseHeaders)))),
            promise: nil)
        context.write(
            self.wrapOutboundOut(
                HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(responseBody))))), promise: nil)
        context.write(
            self.wrapOutboundOut(
                HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: responseTrailers, endStream: true)))),
            promise: nil
        )
        self.needsFlush = true
    }

    private func echo(context: ChannelHandlerContext, streamID: HTTP2StreamID, data: IOData?, end: Bool) {
        if let data, data.readableBytes > 0 {
            if self.echoing.insert(streamID).inserted {
                context.write(
                    self.wrapOutboundOut(
                        HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: responseHeaders)))),
                    promise: nil)
            }
            context.write(
                self.wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .data(.init(data: data)))), promise: nil)
            self.needsFlush = true
        }
        if end {
            if self.echoing.remove(streamID) == nil {
                context.write(
                    self.wrapOutboundOut(
                        HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: responseHeaders)))),
                    promise: nil)
            }
            context.write(
                self.wrapOutboundOut(
                    HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: responseTrailers, endStream: true)))
                ),
                promise: nil
            )
            self.needsFlush = true
        }
    }

    private func sendWindowUpdate(context: ChannelHandlerContext, streamID: HTTP2StreamID, increment: Int) {
        context.write(
            self.wrapOutboundOut(
                HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
        self.needsFlush = true
    }
}

var port = 0
var echoArgument = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--port", let value = arguments.next(), let parsed = Int(value) {
        port = parsed
    } else if argument == "--echo" {
        echoArgument = true
    } else {
        print("usage: raw-frame-server [--port P] [--echo]")
        exit(2)
    }
}

var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
connectionConfiguration.initialSettings = [
    HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
    HTTP2Setting(parameter: .maxHeaderListSize, value: 16 * 1024),
    HTTP2Setting(parameter: .initialWindowSize, value: 1024 * 1024),
]
var streamConfiguration = NIOHTTP2Handler.StreamConfiguration()
streamConfiguration.targetWindowSize = 1024 * 1024
let echoMode = echoArgument
let connection = connectionConfiguration
let stream = streamConfiguration

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 256)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(
                NIOHTTP2Handler(mode: .server, connectionConfiguration: connection, streamConfiguration: stream)
            )
            try sync.addHandler(FrameHandler())
        }
    }
    .bind(host: "127.0.0.1", port: port)
    .wait()

print("listening on 127.0.0.1:\(channel.localAddress?.port ?? port)")
fflush(nil)
try channel.closeFuture.wait()
try group.syncShutdownGracefully()
