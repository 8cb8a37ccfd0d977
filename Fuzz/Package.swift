// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for gRPC Simple: one executable per parser, each exporting
// `LLVMFuzzerTestOneInput` and running libFuzzer's driver from its main.swift. A package of its own, so users of the
// library never see these targets. Build and run them with `scripts/fuzz`, which builds with
// `-Xswiftc -sanitize=fuzzer,address`; see docs/RELIABILITY.md.
//
// The targets reach the library's internal parsers with `@testable import GRPCSimple`, which
// a debug build allows (SwiftPM compiles debug builds with testability enabled).
let package = Package(
    name: "grpc-simple-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // gRPC Simple, from this checkout, through the `grpc-simple` symbolic link to `..`: a
        // path dependency's identity is its folder's name, and the checkout's folder may be
        // called anything, `fuzz` included, which would clash with this package's own identity.
        .package(name: "grpc-simple", path: "grpc-simple"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // The declaration of libFuzzer's driver, which each target's main.swift calls.
        .target(name: "CLibFuzzer"),
        // Shared: reading fuzz bytes, splitting them into chunks, the service the server
        // targets call.
        .target(
            name: "FuzzSupport",
            dependencies: [
                "CLibFuzzer",
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The server's HTTP/2 transport, Sources/GRPCSimpleHTTP2 (a symbolic link): the root
        // package keeps it internal (no product), so it is compiled here under its own name.
        .target(
            name: "HTTP2Transport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        // The server's HTTP/1.1 transport, Sources/GRPCSimpleHTTP1 (a symbolic link), internal
        // like the HTTP/2 one: its `import GRPCSimpleHTTP2` is aliased to HTTP2Transport, so
        // that both speak the same event type.
        .target(
            name: "HTTP1Transport",
            dependencies: [
                "HTTP2Transport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            swiftSettings: [.unsafeFlags(["-module-alias", "GRPCSimpleHTTP2=HTTP2Transport"])]
        ),
        // 1. The message deframer (EnvelopeReader) with identity, gzip and deflate.
        fuzzTarget("FuzzEnvelope"),
        // 2. Request headers (RequestHead.parse) and metadata: grpc-timeout, percent-encoding,
        //    base64 of -bin values.
        fuzzTarget("FuzzRequestHead"),
        // 3. The whole server connection (ServerConnectionHandler and its transport on an
        //    EmbeddedChannel) fed arbitrary bytes after a valid preface.
        fuzzTarget("FuzzServerConnection"),
        // 4. The client's reading of response headers, messages and trailers.
        fuzzTarget("FuzzClientResponse"),
        // 5. The server's HTTP/2 transport: frames after a valid preface.
        fuzzTarget("FuzzHTTP2", extra: ["HTTP2Transport"]),
        // 6. The server's HTTP/1.1 transport: any bytes as requests.
        fuzzTarget("FuzzHTTP1", extra: ["HTTP1Transport", "HTTP2Transport"]),
        // 7. The DNS response parser, and the service-config JSON parser.
        fuzzTarget("FuzzDNS"),
        fuzzTarget("FuzzServiceConfig"),
        // 7. gRPC-Web and Connect: content-types, request bodies (base64, held Connect unary
        //    bodies), proto3 JSON messages, Connect's error JSON.
        fuzzTarget("FuzzWebProtocols"),
    ],
    swiftLanguageModes: [.v6]
)

/// A fuzz target: an executable whose `NAME.swift` defines `LLVMFuzzerTestOneInput` and whose
/// `main.swift` hands it to libFuzzer's driver.
func fuzzTarget(_ name: String, extra: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            "FuzzSupport",
            .product(name: "GRPCSimple", package: "grpc-simple"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHPACK", package: "swift-nio-http2"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Logging", package: "swift-log"),
        ] + extra
    )
}
