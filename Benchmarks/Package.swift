// swift-tools-version:6.0
// The benchmark package: gRPC Simple (by path) against grpc-swift-2, and raw swift-nio-http2
// servers as ceilings. Not referenced from the root Package.swift, so the library never
// depends on the peer. Build with `swift build -c release` from this directory; run
// everything with `scripts/bench` at the repository root (see docs/BENCHMARKS.md).
import PackageDescription

let package = Package(
    name: "grpc-simple-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // gRPC Simple itself, from this checkout.
        .package(name: "grpc-simple", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        // The peer: grpc-swift-2, the comparison point.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        // bench-server --metrics / --tracing: the cost of observability, with a real backend.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        // Ceilings: canned gRPC responses, no gRPC layer.
        .executableTarget(
            name: "raw-child-server",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        .executableTarget(
            name: "raw-frame-server",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        // The server's own HTTP/2 transport (no NIOHTTP2; NIOHPACK for header compression): the
        // library's GRPCSimpleHTTP2, whose folder Sources/OwnedHTTP2 links to (the root package
        // offers it as no product), served with no gRPC layer by owned-frame-server.
        .target(
            name: "OwnedHTTP2",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        .executableTarget(
            name: "owned-frame-server",
            dependencies: [
                "OwnedHTTP2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),

        // The workloads, written once against a small client-agnostic protocol.
        .target(name: "LoadDriver"),

        // gRPC Simple side: generated code (scripts/generate) and the benchmark services.
        .target(
            name: "SimpleBenchService",
            dependencies: [
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .executableTarget(
            name: "bench-server",
            dependencies: [
                "SimpleBenchService",
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "bench-client",
            dependencies: ["LoadDriver", "SimpleBenchService", .product(name: "GRPCSimple", package: "grpc-simple")]
        ),

        // grpc-swift-2 side: generated code (scripts/generate) and the same services.
        .target(
            name: "PeerBenchService",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .executableTarget(
            name: "peer-server",
            dependencies: [
                "PeerBenchService",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "peer-client",
            dependencies: [
                "LoadDriver",
                "PeerBenchService",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
