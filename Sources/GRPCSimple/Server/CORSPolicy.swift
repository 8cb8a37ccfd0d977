import NIOHPACK

/// Which web pages may call the server from a browser (Cross-Origin Resource Sharing).
///
/// Off by default: a browser then refuses to let a page from another origin read the answers.
/// With a policy, preflight requests (`OPTIONS`) are answered with the methods and headers
/// gRPC-Web and Connect send, and every response to an allowed origin names it and exposes
/// the headers a browser client reads (`grpc-status`, `grpc-message`,
/// `grpc-status-details-bin`, and the call's own metadata and trailers).
///
/// ```swift
/// config.cors = CORSPolicy(allowedOrigins: ["https://app.example.com"])
/// ```
public struct CORSPolicy: Sendable, Hashable {
    /// The origins allowed to call (`scheme://host[:port]`, as browsers send them in
    /// `origin`), or `["*"]` for any.
    public var allowedOrigins: [String]
    /// How long, in seconds, a browser may cache a preflight's answer.
    public var maxAgeSeconds: Int

    /// A policy allowing `allowedOrigins` (`"*"` allows any origin).
    public init(allowedOrigins: [String], maxAgeSeconds: Int = 7200) {
        self.allowedOrigins = allowedOrigins
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// The headers a request may carry without the server listing them: every header a
    /// gRPC-Web or Connect client sends. A preflight asking for others (the caller's metadata)
    /// is answered with those too.
    static let allowedHeaders = [
        "content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
        "connect-protocol-version", "connect-timeout-ms", "connect-content-encoding", "connect-accept-encoding",
        "content-encoding", "accept-encoding",
    ]

    /// Response headers a browser script may read beyond the always-safe ones.
    static let exposedHeaders = [
        "grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding", "grpc-accept-encoding",
        "connect-content-encoding", "connect-accept-encoding", "content-encoding",
    ]

    /// The value of `access-control-allow-origin` for a request from `origin`, or nil when
    /// the policy does not allow it.
    func allows(origin: String) -> String? {
        for allowed in self.allowedOrigins {
            if allowed == "*" { return "*" }
            if allowed.lowercased() == origin.lowercased() { return origin }
        }
        return nil
    }

    /// The answer to a preflight: 204, with the allowed methods and headers when the origin is
    /// allowed (nothing that lets the browser go on otherwise).
    func preflightResponse(origin: String?, request: HPACKHeaders) -> HPACKHeaders {
        var headers: HPACKHeaders = [":status": "204"]
        headers.add(name: "vary", value: "origin, access-control-request-method, access-control-request-headers")
        guard let origin else { return headers }
        headers.add(name: "access-control-allow-origin", value: origin)
        headers.add(name: "access-control-allow-methods", value: "POST, GET, OPTIONS")
        var allowed = Self.allowedHeaders
        for requested in request[canonicalForm: "access-control-request-headers"] {
            let name = requested.lowercased()
            if !name.isEmpty, !allowed.contains(name) { allowed.append(name) }
        }
        headers.add(name: "access-control-allow-headers", value: allowed.joined(separator: ", "))
        headers.add(name: "access-control-max-age", value: String(self.maxAgeSeconds))
        return headers
    }

    /// The headers of a response to an allowed origin; `exposing` names the response's own
    /// metadata headers, which a script may then read.
    static func responseHeaders(origin: String, exposing names: [String]) -> HPACKHeaders {
        var headers: HPACKHeaders = ["access-control-allow-origin": origin]
        if origin != "*" { headers.add(name: "vary", value: "origin") }
        var exposed = Self.exposedHeaders
        for name in names where !exposed.contains(name) { exposed.append(name) }
        headers.add(name: "access-control-expose-headers", value: exposed.joined(separator: ", "))
        return headers
    }
}
