import NIOCore

/// Tells HTTP/2 from HTTP/1.1 by the first bytes of a connection, then gives the connection
/// to the handler of that protocol and steps out of the pipeline.
///
/// An HTTP/2 client starts with the preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (RFC 9113 §3.4),
/// with TLS too (ALPN `h2`); anything else is taken for an HTTP/1.1 request line (RFC 9112
/// §3): browsers over plaintext, `curl --http1.1`, gRPC-Web and Connect clients. No HTTP/1.1
/// method is `PRI`, so four bytes decide, and a first byte that differs decides at once.
/// A client that sends nothing is closed after `timeout`, as a stalled handshake is.
final class HTTPVersionDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The protocol a connection speaks.
    enum Version {
        case http1
        case http2
    }

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private var buffered: ByteBuffer?
    private var timer: Scheduled<Void>?
    private let timeout: TimeAmount
    /// Adds the connection's handler for `version` to the pipeline (after this one).
    private let install: (Version, ChannelHandlerContext) throws -> Void

    init(timeout: TimeAmount, install: @escaping (Version, ChannelHandlerContext) throws -> Void) {
        self.timeout = timeout
        self.install = install
    }

    /// Which protocol `bytes` start, or nil while they are too few to tell.
    static func detect(_ bytes: ByteBuffer) -> Version? {
        let prefix = bytes.readableBytesView.prefix(Self.preface.count)
        for (offset, byte) in prefix.enumerated() where byte != Self.preface[offset] {
            return .http1
        }
        return prefix.count >= 4 ? .http2 : nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(in: self.timeout) {
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        if var buffered = self.buffered {
            self.buffered = nil
            buffered.writeBuffer(&bytes)
            bytes = buffered
        }
        guard let version = Self.detect(bytes) else {
            self.buffered = bytes
            return
        }
        self.timer?.cancel()
        self.timer = nil
        do {
            try self.install(version, context)
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(self.wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.buffered == nil {
            context.fireChannelReadComplete()
        } else {
            // Too few bytes to tell: ask for more (autoRead would, but not when reads are
            // requested by hand).
            context.read()
        }
    }
}
