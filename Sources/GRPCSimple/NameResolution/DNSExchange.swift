import NIOCore
import NIOPosix

/// Asks one DNS server, over UDP, for a host's A and AAAA records: the lookup of a
/// `dns://server/host` target, whose server is not the system's.
///
/// Both queries go out at once and again every second without an answer; the exchange
/// ends when both are answered or `timeout` passes. Datagrams from elsewhere, or that do
/// not answer a query of ours, are ignored.
enum DNSExchange {
    /// The addresses of `host` (IPv4 first) with `port` on them, from `server`.
    static func addresses(
        of host: String,
        port: Int,
        server: SocketAddress,
        timeout: TimeAmount = .seconds(5),
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<[SocketAddress]> {
        let promise = eventLoop.makePromise(of: [SocketAddress].self)
        let queries: [(UInt16, DNSMessage.RecordType)] = [
            (UInt16.random(in: 0...UInt16.max), .a), (UInt16.random(in: 0...UInt16.max), .aaaa),
        ]
        let messages: [ByteBuffer]
        do {
            messages = try queries.map { id, type throws(DNSMessage.ParseError) in
                try DNSMessage.query(id: id, name: host, type: type)
            }
        } catch {
            promise.fail(RPCError(.invalidArgument, "cannot look up '\(host)': \(error)"))
            return promise.futureResult
        }
        let localHost = server.protocol == .inet6 ? "::" : "0.0.0.0"
        DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = Handler(
                        host: host, port: port, server: server, queries: queries, messages: messages,
                        timeout: timeout, promise: promise)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: localHost, port: 0)
            .whenFailure { error in
                promise.fail(RPCError(.unavailable, "cannot ask the DNS server \(server) for '\(host)': \(error)"))
            }
        return promise.futureResult
    }

    /// Sends the queries, reads the answers, and closes its channel when done.
    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>

        private let host: String
        private let port: Int
        private let server: SocketAddress
        /// `server` as people write it: `10.0.0.53:53`, `[::1]:5353`.
        private let serverName: String
        private let messages: [ByteBuffer]
        private let timeout: TimeAmount
        private let promise: EventLoopPromise<[SocketAddress]>
        /// Each query's id, type and answer (nil until it comes).
        private var pending: [(id: UInt16, type: DNSMessage.RecordType, answer: DNSMessage.Response?)]
        private var resend: RepeatedTask?
        private var deadline: Scheduled<Void>?
        private var isDone = false

        init(
            host: String, port: Int, server: SocketAddress, queries: [(UInt16, DNSMessage.RecordType)],
            messages: [ByteBuffer], timeout: TimeAmount, promise: EventLoopPromise<[SocketAddress]>
        ) {
            self.host = host
            self.port = port
            self.server = server
            let ip = server.ipAddress ?? "\(server)"
            self.serverName = server.protocol == .inet6 ? "[\(ip)]:\(server.port ?? 0)" : "\(ip):\(server.port ?? 0)"
            self.pending = queries.map { (id: $0.0, type: $0.1, answer: nil) }
            self.messages = messages
            self.timeout = timeout
            self.promise = promise
        }

        func channelActive(context: ChannelHandlerContext) {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            self.resend = context.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { _ in
                let (handler, context) = loopBound.value
                handler.sendUnanswered(context: context)
            }
            self.deadline = context.eventLoop.scheduleTask(in: self.timeout) {
                let (handler, context) = loopBound.value
                handler.finish(
                    .failure(
                        RPCError(
                            .unavailable,
                            "the DNS server \(handler.serverName) did not answer for '\(handler.host)' within \(Duration.nanoseconds(handler.timeout.nanoseconds))"
                        )),
                    context: context)
            }
        }

        private func sendUnanswered(context: ChannelHandlerContext) {
            for (index, query) in self.pending.enumerated() where query.answer == nil {
                let envelope = AddressedEnvelope(remoteAddress: self.server, data: self.messages[index])
                context.write(self.wrapOutboundOut(envelope), promise: nil)
            }
            context.flush()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = self.unwrapInboundIn(data)
            guard !self.isDone, envelope.remoteAddress == self.server,
                let response = try? DNSMessage.parse(envelope.data, port: self.port), response.isResponse,
                let index = self.pending.firstIndex(where: { $0.id == response.id && $0.answer == nil }),
                response.questionType == self.pending[index].type.rawValue,
                response.questionName.map(DNSMessage.canonical) == DNSMessage.canonical(self.host)
            else { return }
            self.pending[index].answer = response
            if self.pending.allSatisfy({ $0.answer != nil }) {
                self.finish(self.outcome(), context: context)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // An ICMP "port unreachable" comes back as a read error: nobody is listening.
            self.finish(
                .failure(
                    RPCError(.unavailable, "cannot ask the DNS server \(self.serverName) for '\(self.host)': \(error)")),
                context: context)
        }

        /// What the two answers say together.
        private func outcome() -> Result<[SocketAddress], RPCError> {
            let answers = self.pending.compactMap(\.answer)
            if answers.contains(where: \.isTruncated) {
                return .failure(
                    RPCError(
                        .unavailable,
                        "the DNS server \(self.serverName) truncated its answer for '\(self.host)' (too many records for UDP)"
                    ))
            }
            var addresses: [SocketAddress] = []
            for answer in answers where answer.responseCode == 0 {
                for address in answer.addresses(of: self.host) where !addresses.contains(address) {
                    addresses.append(address)
                }
            }
            if !addresses.isEmpty { return .success(addresses) }
            let codes = Set(answers.map(\.responseCode))
            if codes == [0] {
                return .failure(
                    RPCError(
                        .unavailable, "'\(self.host)' has no A or AAAA record at the DNS server \(self.serverName)"))
            }
            let names = answers.filter { $0.responseCode != 0 }.map(\.responseCodeName)
            return .failure(
                RPCError(
                    .unavailable,
                    "the DNS server \(self.serverName) answered \(Set(names).sorted().joined(separator: ", ")) for '\(self.host)'"
                ))
        }

        private func finish(_ result: Result<[SocketAddress], RPCError>, context: ChannelHandlerContext) {
            guard !self.isDone else { return }
            self.isDone = true
            self.resend?.cancel()
            self.deadline?.cancel()
            self.promise.completeWith(result.mapError { $0 as any Error })
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.finish(
                .failure(RPCError(.unavailable, "the lookup of '\(self.host)' at \(self.serverName) was cut short")),
                context: context)
        }
    }
}
