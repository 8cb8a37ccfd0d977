// swift-tools-version:6.0
// The seed's example as a package of its own: person.proto (generated code committed, see
// scripts/generate), its service, `person-server` and `person-client`. It depends on gRPC
// Simple by path, as the README's tutorial package does, and stays out of the root package
// so that a user who names their targets after the tutorial meets no clash.
//
//   swift run person-server --port 50051      (from this directory)
//   swift run person-client --port 50051
import PackageDescription

let package = Package(
    name: "person-example",
    platforms: [.macOS(.v15)],
    dependencies: [
        // gRPC Simple, from this checkout. `package: "grpc-simple"` finds it by this `name:`
        // whatever the checkout's folder is called (its identity follows the folder).
        .package(name: "grpc-simple", path: "../.."),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Observability: person-server's /metrics (Prometheus), and the W3C tracer both
        // binaries log their spans with.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
    ],
    targets: [
        .target(
            name: "PersonService",
            dependencies: [
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
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
            ]
        ),
        .executableTarget(
            name: "person-server",
            dependencies: [
                "PersonService",
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "GRPCHealth", package: "grpc-simple"),
                .product(name: "GRPCReflection", package: "grpc-simple"),
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
            ]
        ),
        .executableTarget(
            name: "person-client",
            dependencies: [
                "PersonService",
                .product(name: "GRPCSimple", package: "grpc-simple"),
                "SpanLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
