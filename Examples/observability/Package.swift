// swift-tools-version:6.1
// gRPC Simple with OpenTelemetry export: a server and a client whose traces, metrics and
// logs go to an OTLP/HTTP endpoint through swift-otel. A package of its own because
// swift-otel (and its gRPC and protobuf dependencies) takes minutes to build; the library
// itself only speaks the swift-log / swift-metrics / swift-distributed-tracing APIs.
//
//   swift run observability-example --otlp-endpoint http://127.0.0.1:4318
import PackageDescription

let package = Package(
    name: "grpc-simple-observability-example",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "grpc-simple", path: "../.."),
        // OTLP over HTTP only: the OTLPGRPC trait would build grpc-swift-2 as well.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "observability-example",
            dependencies: [
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "GRPCHealth", package: "grpc-simple"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
