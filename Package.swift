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
        .executable(name: "person-server", targets: ["person-server"]),
        .executable(name: "person-client", targets: ["person-client"]),
        .executable(name: "interop-server", targets: ["interop-server"]),
        .executable(name: "interop-client", targets: ["interop-client"]),
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
        // Examples only: person-server's /metrics.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
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
        // The seed's example: person.proto, its generated code, server and client.
        .target(
            name: "PersonService",
            dependencies: [
                "GRPCSimple",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/person/Sources/PersonService",
            exclude: ["person.proto"]
        ),
        // The examples' tracer: W3C trace context, each finished span logged as one line
        // (what the cross-language tracing tests read). Examples/observability exports to OTLP.
        .target(
            name: "SpanLog",
            dependencies: [
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/person/Sources/SpanLog"
        ),
        .executableTarget(
            name: "person-server",
            dependencies: [
                "PersonService",
                "GRPCSimple",
                "GRPCHealth",
                "GRPCReflection",
                "SpanLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Examples/person/Sources/person-server"
        ),
        .executableTarget(
            name: "person-client",
            dependencies: [
                "PersonService",
                "GRPCSimple",
                "SpanLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Examples/person/Sources/person-client"
        ),
        // Generated code for the test protos (every RPC kind, packages, nesting, imports).
        .target(
            name: "TestServices",
            dependencies: ["GRPCSimple", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/TestServices",
            exclude: ["Protos"]
        ),
        // The gRPC interop suite (grpc/grpc doc/interop-test-descriptions.md): TestService
        // from Debian's grpc-proto, generated by scripts/generate, its server and its cases.
        .target(
            name: "InteropTesting",
            dependencies: [
                "GRPCSimple",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "interop-server",
            dependencies: [
                "InteropTesting",
                "GRPCSimple",
                "GRPCHealth",
                "GRPCReflection",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "interop-client",
            dependencies: [
                "InteropTesting",
                "GRPCSimple",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "GRPCSimpleTests",
            dependencies: [
                "GRPCSimple",
                "TestServices",
                "PersonService",
                "InteropTesting",
                "GRPCHealth",
                "GRPCReflection",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                "SpanLog",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
