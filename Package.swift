// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "grpc-simple",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "GRPCSimple", targets: ["GRPCSimple"]),
        .library(name: "GRPCHealth", targets: ["GRPCHealth"]),
        .library(name: "GRPCReflection", targets: ["GRPCReflection"]),
        .executable(name: "protoc-gen-grpc-simple", targets: ["protoc-gen-grpc-simple"]),
        .executable(name: "grpc-simple", targets: ["grpc-simple"]),
        .plugin(name: "GRPCSimpleGenerator", targets: ["GRPCSimpleGenerator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // Observability: the Swift server ecosystem's API packages for metrics, tracing and
        // service lifecycle. Small and backend-free: the backend (Prometheus, OTLP, ...) is
        // the application's choice.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // zlib (the system's libz) for gzip and deflate message compression.
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        // TLS and mutual TLS (BoringSSL), opt-in per server and channel.
        // TLS. PeerCertificate and ServerNameCheck read subject alternative names with its
        // underscored `_subjectAlternativeNames()`, which a minor release may change.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // `swift package generate-documentation`: the DocC catalog of GRPCSimple.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        // The library: wire protocol, server and client runtimes.
        .target(
            name: "GRPCSimple",
            dependencies: [
                "GRPCSimpleHTTP2",
                "GRPCSimpleHTTP1",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            // google/rpc/status.proto: its generated code is in Wire/Generated.
            exclude: ["Wire/Protos"]
        ),
        // The server's HTTP/2 transport (RFC 9113): frame parser, stream table, flow control and
        // the connection state machine, on NIOCore and NIOHPACK only. Internal to the library
        // (no product): GRPCSimple is its one user.
        .target(
            name: "GRPCSimpleHTTP2",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        // The server's HTTP/1.1 transport (RFC 9112), for gRPC-Web and Connect from browsers and
        // HTTP/1.1 clients: a strict request parser and a connection state machine that speaks
        // the HTTP/2 transport's events. Internal like GRPCSimpleHTTP2 (no product).
        .target(
            name: "GRPCSimpleHTTP1",
            dependencies: [
                "GRPCSimpleHTTP2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        // grpc.health.v1.Health: Check and Watch, statuses set from code.
        .target(
            name: "GRPCHealth",
            dependencies: [
                "GRPCSimple",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // grpc.reflection.v1 and v1alpha ServerReflection, fed by the descriptors that
        // protoc-gen-grpc-simple embeds in generated code.
        .target(
            name: "GRPCReflection",
            dependencies: [
                "GRPCSimple",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The code generator plugin for protoc.
        .executableTarget(
            name: "protoc-gen-grpc-simple",
            dependencies: [
                .product(name: "SwiftProtobufPluginLibrary", package: "swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Code generation inside `swift build`: .proto files in a target's folder become
        // messages (protoc-gen-swift) and services (protoc-gen-grpc-simple); protoc from PATH.
        .plugin(
            name: "GRPCSimpleGenerator",
            capability: .buildTool(),
            dependencies: [
                "protoc-gen-grpc-simple",
                .product(name: "protoc-gen-swift", package: "swift-protobuf"),
            ]
        ),
        // The command line: list, describe, call and health-check any gRPC server.
        .executableTarget(
            name: "grpc-simple",
            dependencies: [
                "GRPCSimple",
                "GRPCSimpleDynamic",
                "GRPCHealth",
                "GRPCReflection",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Generated code for the test protos (every RPC kind, packages, nesting, imports).
        .target(
            name: "TestServices",
            dependencies: ["GRPCSimple", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/TestServices",
            exclude: ["Protos"]
        ),
        // Test support, not a product (so its name cannot clash with a user's target): the
        // interop package's TestService, cases and test certificates, compiled here too for the
        // reflection, TLS and Swift-to-Swift interop tests. One copy of the sources, in Interop/.
        .target(
            name: "InteropTesting",
            dependencies: [
                "GRPCSimple",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Interop/Sources/InteropTesting"
        ),
        // Descriptor-driven messages for the command line: a pool of descriptors, proto3 JSON to
        // and from the binary format for types known only at run time, and .proto printing.
        .target(
            name: "GRPCSimpleDynamic",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .testTarget(
            name: "GRPCSimpleTests",
            dependencies: [
                "GRPCSimple",
                "GRPCSimpleHTTP2",
                "GRPCSimpleHTTP1",
                "TestServices",
                "InteropTesting",
                "GRPCHealth",
                "GRPCReflection",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "GRPCSimpleDynamicTests",
            dependencies: [
                "GRPCSimpleDynamic",
                "GRPCSimple",
                "TestServices",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
