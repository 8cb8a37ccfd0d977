import NIOHPACK

/// Builds and reads the HTTP/2 header blocks of gRPC, per grpc/grpc `doc/PROTOCOL-HTTP2.md`.
enum GRPCHeaders {
    static let contentType = "application/grpc"
    static let userAgent = "grpc-swift-simple/0.1"

    /// Whether a request or response content-type is gRPC's
    /// (`application/grpc`, optionally `+proto`, `+json`, ... and parameters).
    static func isGRPCContentType(_ value: String?) -> Bool {
        guard let value else { return false }
        let lowered = value.lowercased()
        guard lowered.hasPrefix(contentType) else { return false }
        let rest = lowered.dropFirst(contentType.count)
        return rest.isEmpty || rest.first == "+" || rest.first == ";"
    }

    /// Appends custom metadata to a header block; invalid entries are returned, not added.
    @discardableResult
    static func append(_ metadata: Metadata, to headers: inout HPACKHeaders) -> [String] {
        var rejected: [String] = []
        for entry in metadata {
            guard Metadata.isValidKey(entry.key) else {
                rejected.append(entry.key)
                continue
            }
            switch entry.value {
            case .string(let value):
                guard !entry.key.hasSuffix("-bin"), Metadata.isValidASCIIValue(value) else {
                    rejected.append(entry.key)
                    continue
                }
                headers.add(name: entry.key, value: value)
            case .binary(let bytes):
                guard entry.key.hasSuffix("-bin") else {
                    rejected.append(entry.key)
                    continue
                }
                headers.add(name: entry.key, value: Base64.encode(bytes))
            }
        }
        return rejected
    }

    /// The first metadata entry that cannot be sent, described for an error message.
    static func firstInvalidEntry(in metadata: Metadata) -> String? {
        for entry in metadata {
            if !Metadata.isValidKey(entry.key) {
                return "metadata key '\(entry.key)' is not valid (lowercase 0-9 a-z - _ . only, and not a reserved header)"
            }
            switch entry.value {
            case .string(let value):
                if entry.key.hasSuffix("-bin") {
                    return "metadata key '\(entry.key)' ends in -bin but has a string value"
                }
                if !Metadata.isValidASCIIValue(value) {
                    return "the value of metadata key '\(entry.key)' is not printable ASCII; use a -bin key for binary data"
                }
            case .binary:
                if !entry.key.hasSuffix("-bin") {
                    return "metadata key '\(entry.key)' has a binary value but does not end in -bin"
                }
            }
        }
        return nil
    }

    /// Custom metadata out of a received header block: everything but pseudo-headers and
    /// the headers gRPC itself uses. Fails with a description when a `-bin` value is not base64.
    static func metadata(from headers: HPACKHeaders) -> Result<Metadata, RPCError> {
        var metadata = Metadata()
        for (name, value, _) in headers {
            if name.hasPrefix(":") || Metadata.isReserved(name) { continue }
            if name.hasSuffix("-bin") {
                for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let trimmed = part.drop { $0 == " " }
                    guard let bytes = Base64.decode(trimmed) else {
                        return .failure(RPCError(.internal, "the value of metadata key '\(name)' is not valid base64"))
                    }
                    metadata.add(name, binary: bytes)
                }
            } else {
                metadata.add(name, value)
            }
        }
        return .success(metadata)
    }

    static func trailers(status: Status, metadata: Metadata) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(2 + metadata.count)
        headers.add(name: "grpc-status", value: String(status.code.rawValue))
        if !status.message.isEmpty {
            headers.add(name: "grpc-message", value: PercentEncoding.encode(status.message))
        }
        self.append(metadata, to: &headers)
        return headers
    }

    /// The status carried by a trailer block (or a trailers-only response).
    static func status(from trailers: HPACKHeaders) -> (Status, Metadata) {
        let metadata = (try? self.metadata(from: trailers).get()) ?? Metadata()
        guard let rawStatus = trailers.first(name: "grpc-status") else {
            if let httpStatus = trailers.first(name: ":status").flatMap({ Int($0) }), httpStatus != 200 {
                return (Status(code: StatusCode(httpStatus: httpStatus), message: "HTTP status \(httpStatus)"), metadata)
            }
            return (Status(code: .unknown, message: "the server closed the stream without a grpc-status"), metadata)
        }
        guard let code = Int(rawStatus) else {
            return (Status(code: .unknown, message: "invalid grpc-status '\(rawStatus)'"), metadata)
        }
        let message = trailers.first(name: "grpc-message").map(PercentEncoding.decode) ?? ""
        return (Status(code: StatusCode(wireValue: code), message: message), metadata)
    }
}
