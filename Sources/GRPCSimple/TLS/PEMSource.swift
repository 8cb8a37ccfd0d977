/// PEM-encoded certificates or a private key: read from a file, or given as text.
public enum PEMSource: Sendable, Hashable {
    /// A PEM file on disk, read when the server starts or the channel is created.
    case file(path: String)
    /// PEM text held in memory (`-----BEGIN CERTIFICATE-----...`).
    case pem(String)
}

extension PEMSource {
    /// For error messages: the path, or "in-memory PEM".
    var label: String {
        switch self {
        case .file(let path): return path
        case .pem: return "in-memory PEM"
        }
    }
}
