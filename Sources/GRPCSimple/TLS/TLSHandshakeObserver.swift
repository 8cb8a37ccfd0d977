import NIOCore
import NIOSSL
import NIOTLS

/// Client side: completes `handshakeDone` when the TLS handshake has finished, the server
/// chose `h2` by ALPN and its certificate is valid for `serverName` (`ServerNameCheck`; nil
/// when the channel does not verify the server's certificate), or
/// fails it with a `TLSHandshakeError` saying why. Until
/// then the connection is not handed any call; afterwards this handler removes itself,
/// so the data path does not pass through it.
///
/// It sits right after `NIOSSLClientHandler`. A server that accepts the TCP connection
/// but never finishes the handshake is closed after `timeout`.
final class TLSHandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let handshakeDone: EventLoopPromise<Void>
    private let timeout: TimeAmount
    private let serverName: String?
    private var timer: Scheduled<Void>?
    private var finished = false

    init(handshakeDone: EventLoopPromise<Void>, timeout: TimeAmount, serverName: String?) {
        self.handshakeDone = handshakeDone
        self.timeout = timeout
        self.serverName = serverName
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let timeout = self.timeout
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.fail(TLSHandshakeError(reason: "the server did not finish the TLS handshake within \(timeout)"))
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
        // The channel went away before the handshake ended: never leave the promise hanging.
        self.fail(TLSHandshakeError(reason: "the connection closed during the TLS handshake"))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = tlsEvent else {
            return context.fireUserInboundEventTriggered(event)
        }
        context.fireUserInboundEventTriggered(event)
        guard negotiated == TLSMaterial.http2Protocol else {
            self.fail(
                TLSHandshakeError(
                    reason:
                        "the server did not choose HTTP/2 by ALPN (it chose \(negotiated.map { "'\($0)'" } ?? "nothing")); gRPC needs 'h2'"
                ))
            context.close(promise: nil)
            return
        }
        let certificate = (try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self))?
            .peerCertificate
        if let serverName = self.serverName,
            !(certificate.map { ServerNameCheck.certificate($0, isValidFor: serverName) } ?? false)
        {
            self.fail(
                TLSHandshakeError(
                    reason:
                        "the server's certificate is not valid for the name '\(serverName)' (its subject alternative names do not include it; set ClientTLSConfiguration.serverName if the certificate carries another name)"
                ))
            context.close(promise: nil)
            return
        }
        self.finished = true
        self.timer?.cancel()
        self.timer = nil
        self.handshakeDone.succeed()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(TLSHandshakeError(describing: error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.fail(
            TLSHandshakeError(reason: "the server closed the connection during the TLS handshake (is it serving TLS?)"))
        context.fireChannelInactive()
    }

    private func fail(_ error: TLSHandshakeError) {
        guard !self.finished else { return }
        self.finished = true
        self.timer?.cancel()
        self.timer = nil
        self.handshakeDone.fail(error)
    }
}

/// Why a TLS handshake failed, in words: the channel's calls fail with UNAVAILABLE and
/// this as (part of) their message.
struct TLSHandshakeError: Error, CustomStringConvertible {
    var reason: String

    init(reason: String) {
        self.reason = reason
    }

    /// Turns NIOSSL's errors into a reason naming the likely cause.
    init(describing error: any Error) {
        switch error {
        case NIOSSLError.handshakeFailed(let underlying):
            let detail = "\(underlying)"
            if detail.contains("CERTIFICATE_VERIFY_FAILED") {
                self.reason =
                    "the server's certificate is not trusted: it does not chain to the channel's trust roots, or it has expired (CERTIFICATE_VERIFY_FAILED)"
            } else {
                self.reason = "handshake failed: \(detail)"
            }
        default:
            self.reason = "\(error)"
        }
    }

    var description: String { "TLS handshake failed: \(self.reason)" }
}

extension TLSHandshakeError {
    /// A TLS alert the server sent once the handshake was done, in words; nil for any other
    /// error. In TLS 1.3 a server checks the client's certificate only after the client has
    /// finished its handshake, so mutual TLS refusals arrive this way, on a connection the
    /// client already uses.
    static func describeServerAlert(_ error: any Error) -> String? {
        guard error is BoringSSLError || error is NIOSSLError else { return nil }
        let text = "\(error)"
        if text.contains("ALERT_CERTIFICATE_REQUIRED") {
            return
                "the server requires a client certificate (mutual TLS; set ClientTLSConfiguration.certificateChain and privateKey)"
        }
        if text.contains("ALERT_UNKNOWN_CA") {
            return "the server does not trust the CA of the client certificate (TLS alert unknown_ca)"
        }
        for alert in [
            "ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_UNKNOWN", "ALERT_CERTIFICATE_EXPIRED",
            "ALERT_CERTIFICATE_REVOKED", "ALERT_UNSUPPORTED_CERTIFICATE",
        ]
        where text.contains(alert) {
            return "the server rejected the client certificate (TLS \(alert.lowercased()))"
        }
        return nil
    }
}
