// swift-tools-version:6.0
// The gRPC interop suite (grpc/grpc doc/interop-test-descriptions.md) as a package of its
// own: grpc.testing.TestService (generated from Debian's grpc-proto by scripts/generate), its
// server, its client and their cases. It depends on gRPC Simple by path and is not part of
// the root package, so that none of its target names can clash with a user's.
//
// The root package compiles InteropTesting too (a target that is no product, for its
// reflection, TLS and Swift-to-Swift interop tests); this package builds the binaries that
// Tests/Interop and Tests/CrossLanguage run against grpcio: `interop-server`, `interop-client`.
import PackageDescription

let package = Package(
    name: "grpc-simple-interop",
    platforms: [.macOS(.v15)],
    dependencies: [
        // gRPC Simple, from this checkout. `name:` fixes its identity whatever the folder is called.
        .package(name: "grpc-simple", path: ".."),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "InteropTesting",
            dependencies: [
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "interop-server",
            dependencies: [
                "InteropTesting",
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "GRPCHealth", package: "grpc-simple"),
                .product(name: "GRPCReflection", package: "grpc-simple"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "interop-client",
            dependencies: [
                "InteropTesting",
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
