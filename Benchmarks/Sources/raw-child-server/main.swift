// raw-child-server: NIOHTTP2Handler with the inline stream multiplexer, one child
// channel per stream. Answers every request, once its END_STREAM arrives, with a
// canned gRPC unary response (Person{name:"trung", id:5, married:false}).
// Usage: raw-child-server [--port P]   (P = 0 picks a free port)
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

final class StreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let endStream: Bool
        switch self.unwrapInboundIn(data) {
        case .headers(let headers): endStream = headers.endStream
        case .data(let body): endStream = body.endStream
        default: endStream = false
        }
        guard endStream else { return }
        context.write(self.wrapOutboundOut(.headers(.init(headers: responseHeaders))), promise: nil)
        context.write(self.wrapOutboundOut(.data(.init(data: .byteBuffer(responseBody)))), promise: nil)
        context.write(self.wrapOutboundOut(.headers(.init(headers: responseTrailers, endStream: true))), promise: nil)
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

var port = 0
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--port", let value = arguments.next(), let parsed = Int(value) {
        port = parsed
    } else {
        print("usage: raw-child-server [--port P]")
        exit(2)
    }
}

var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
connectionConfiguration.initialSettings = [
    HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
    HTTP2Setting(parameter: .maxHeaderListSize, value: 16 * 1024),
    HTTP2Setting(parameter: .initialWindowSize, value: 1024 * 1024),
]
connectionConfiguration.targetWindowSize = 8 * 1024 * 1024
var streamConfiguration = NIOHTTP2Handler.StreamConfiguration()
streamConfiguration.targetWindowSize = 1024 * 1024
let connection = connectionConfiguration
let stream = streamConfiguration

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 256)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                mode: .server,
                connectionConfiguration: connection,
                streamConfiguration: stream
            ) { streamChannel in
                streamChannel.eventLoop.makeCompletedFuture {
                    try streamChannel.pipeline.syncOperations.addHandler(StreamHandler())
                }
            }
        }
    }
    .bind(host: "127.0.0.1", port: port)
    .wait()

print("listening on 127.0.0.1:\(channel.localAddress?.port ?? port)")
fflush(nil)
try channel.closeFuture.wait()
try group.syncShutdownGracefully()
