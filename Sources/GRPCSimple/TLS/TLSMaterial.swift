import NIOCore
import NIOSSL

/// Loading PEM material into NIOSSL's types, with errors that name what failed.
enum TLSMaterial {
    /// The ALPN protocol gRPC speaks.
    static let http2Protocol = "h2"
    /// The ALPN protocol of gRPC-Web and Connect clients without HTTP/2.
    static let http1Protocol = "http/1.1"

    static func certificates(_ source: PEMSource, what: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            switch source {
            case .file(let path):
                certificates = try NIOSSLCertificate.fromPEMFile(path)
            case .pem(let text):
                certificates = try NIOSSLCertificate.fromPEMBytes(Array(text.utf8))
            }
        } catch {
            throw RPCError(.invalidArgument, "TLS: cannot read \(what) from \(source.label): \(error)")
        }
        guard !certificates.isEmpty else {
            throw RPCError(.invalidArgument, "TLS: \(what) (\(source.label)) holds no PEM certificate")
        }
        return certificates
    }

    static func certificateChain(_ source: PEMSource, what: String) throws -> [NIOSSLCertificateSource] {
        try self.certificates(source, what: what).map { .certificate($0) }
    }

    static func trustRoots(_ source: PEMSource, what: String) throws -> NIOSSLTrustRoots {
        .certificates(try self.certificates(source, what: what))
    }

    static func privateKey(_ source: PEMSource, what: String) throws -> NIOSSLPrivateKeySource {
        do {
            switch source {
            case .file(let path):
                return .privateKey(try NIOSSLPrivateKey(file: path, format: .pem))
            case .pem(let text):
                return .privateKey(try NIOSSLPrivateKey(bytes: Array(text.utf8), format: .pem))
            }
        } catch {
            throw RPCError(.invalidArgument, "TLS: cannot read \(what) from \(source.label): \(error)")
        }
    }

    static func context(_ configuration: TLSConfiguration) throws -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw RPCError(
                .invalidArgument, "TLS: invalid configuration (does the private key match the certificate?): \(error)")
        }
    }
}
