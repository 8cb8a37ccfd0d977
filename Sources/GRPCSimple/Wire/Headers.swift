import NIOHPACK

/// Builds and reads the HTTP/2 header blocks of gRPC, per grpc/grpc `doc/PROTOCOL-HTTP2.md`.
enum GRPCHeaders {
    static let contentType = "application/grpc"
    private static let contentTypeBytes = Array(contentType.utf8)
    static let userAgent = "grpc-swift-simple/0.1"

    /// The response headers of a call that sends no initial metadata. Shared: a block
    /// that is not changed is not copied.
    static let responseHead: HPACKHeaders = [
        ":status": "200",
        "content-type": contentType,
        "grpc-accept-encoding": CompressionAlgorithm.acceptEncoding,
    ]
    /// The trailers of a call that succeeded with no trailing metadata.
    static let okTrailers: HPACKHeaders = ["grpc-status": "0"]

    /// The headers of a request: the pseudo-headers, gRPC's own headers (the timeout left
    /// until `deadline`, the compression of `options`, `grpc-previous-rpc-attempts` on a
    /// retry) and the call's metadata.
    static func request(
        path: String,
        authority: String,
        scheme: String,
        options: CallOptions,
        deadline: ContinuousClock.Instant?,
        previousAttempts: Int = 0
    ) -> HPACKHeaders {
        var headers: HPACKHeaders = [
            ":method": "POST",
            ":scheme": scheme,
            ":path": path,
            ":authority": authority,
            "content-type": contentType,
            "te": "trailers",
            "user-agent": userAgent,
            "grpc-accept-encoding": CompressionAlgorithm.acceptEncoding,
        ]
        if options.compression != .identity {
            headers.add(name: "grpc-encoding", value: options.compression.name)
        }
        if let deadline {
            let remaining = ContinuousClock.now.duration(to: deadline)
            headers.add(name: "grpc-timeout", value: GRPCTimeout.format(nanoseconds: remaining.clampedNanoseconds))
        }
        if previousAttempts > 0 {
            headers.add(name: "grpc-previous-rpc-attempts", value: String(previousAttempts))
        }
        self.append(options.metadata, to: &headers)
        return headers
    }

    /// Whether a request or response content-type is gRPC's
    /// (`application/grpc`, optionally `+proto`, `+json`, ... and parameters), compared
    /// without regard to ASCII case and without allocating.
    static func isGRPCContentType(_ value: String?) -> Bool {
        guard var value else { return false }
        if value == contentType { return true }
        return value.withUTF8 { bytes in
            let expected = contentTypeBytes
            guard bytes.count >= expected.count else { return false }
            for index in 0..<expected.count {
                let received = bytes[index]
                let lowered =
                    received >= UInt8(ascii: "A") && received <= UInt8(ascii: "Z") ? received | 0x20 : received
                if lowered != expected[index] { return false }
            }
            guard bytes.count > expected.count else { return true }
            let next = bytes[expected.count]
            return next == UInt8(ascii: "+") || next == UInt8(ascii: ";")
        }
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
                return
                    "metadata key '\(entry.key)' is not valid (lowercase 0-9 a-z - _ . only, and not a reserved header)"
            }
            switch entry.value {
            case .string(let value):
                if entry.key.hasSuffix("-bin") {
                    return "metadata key '\(entry.key)' ends in -bin but has a string value"
                }
                if !Metadata.isValidASCIIValue(value) {
                    return
                        "the value of metadata key '\(entry.key)' is not printable ASCII; use a -bin key for binary data"
                }
            case .binary:
                if !entry.key.hasSuffix("-bin") {
                    return "metadata key '\(entry.key)' has a binary value but does not end in -bin"
                }
            }
        }
        return nil
    }

    /// Throws INTERNAL naming the first entry of `metadata` that cannot be sent.
    static func checkMetadata(_ metadata: Metadata, calling method: MethodDescriptor) throws(RPCError) {
        if let problem = self.firstInvalidEntry(in: metadata) {
            throw RPCError(.internal, "cannot call \(method): \(problem)")
        }
    }

    /// Custom metadata out of a received header block: everything but pseudo-headers and
    /// the headers gRPC itself uses. Fails with a description when a `-bin` value is not base64.
    static func metadata(from headers: HPACKHeaders) -> Result<Metadata, RPCError> {
        var metadata = Metadata()
        for (name, value, _) in headers where !Metadata.isReserved(name) {
            if let error = self.appendReceived(name: name, value: value, to: &metadata) {
                return .failure(error)
            }
        }
        return .success(metadata)
    }

    /// Adds one received header (not a reserved one) to `metadata`: `-bin` values are
    /// base64, possibly several joined by commas. Returns what was wrong with a bad value.
    static func appendReceived(name: String, value: String, to metadata: inout Metadata) -> RPCError? {
        guard name.hasSuffix("-bin") else {
            metadata.append(receivedKey: name, .string(value))
            return nil
        }
        for part in value.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = part.drop { $0 == " " }
            guard let bytes = Base64.decode(trimmed) else {
                return RPCError(.internal, "the value of metadata key '\(name)' is not valid base64")
            }
            metadata.append(receivedKey: name, .binary(bytes))
        }
        return nil
    }

    /// The trailers of a call ending with `status`: `grpc-status`, `grpc-message`
    /// (percent-encoded), `grpc-status-details-bin` when the status has details, then the
    /// trailing metadata.
    static func trailers(status: Status, metadata: Metadata) -> HPACKHeaders {
        if status.code == .ok, status.message.isEmpty, status.details.isEmpty, metadata.isEmpty {
            return self.okTrailers
        }
        var headers = HPACKHeaders()
        headers.reserveCapacity(3 + metadata.count)
        headers.add(name: "grpc-status", value: String(status.code.rawValue))
        if !status.message.isEmpty {
            headers.add(name: "grpc-message", value: PercentEncoding.encode(status.message))
        }
        if let details = StatusDetails.encode(status) {
            headers.add(name: StatusDetails.headerName, value: details)
        }
        self.append(metadata, to: &headers)
        return headers
    }

    /// The status carried by a trailer block (or a trailers-only response).
    static func status(from trailers: HPACKHeaders) -> (Status, Metadata) {
        let metadata = (try? self.metadata(from: trailers).get()) ?? Metadata()
        guard let rawStatus = trailers.first(name: "grpc-status") else {
            if let httpStatus = trailers.first(name: ":status").flatMap({ Int($0) }), httpStatus != 200 {
                return (
                    Status(code: StatusCode(httpStatus: httpStatus), message: "HTTP status \(httpStatus)"), metadata
                )
            }
            return (Status(code: .unknown, message: "the server closed the stream without a grpc-status"), metadata)
        }
        guard let code = Int(rawStatus) else {
            return (Status(code: .unknown, message: "invalid grpc-status '\(rawStatus)'"), metadata)
        }
        let message = trailers.first(name: "grpc-message").map(PercentEncoding.decode) ?? ""
        var status = Status(code: StatusCode(wireValue: code), message: message)
        if status.code != .ok, let encoded = trailers.first(name: StatusDetails.headerName) {
            switch StatusDetails.decode(encoded) {
            case .success(let details):
                status.details = details
            case .failure(let problem):
                return (
                    Status(
                        code: .internal, message: "the server sent a malformed \(StatusDetails.headerName): \(problem)"),
                    metadata
                )
            }
        }
        return (status, metadata)
    }
}
