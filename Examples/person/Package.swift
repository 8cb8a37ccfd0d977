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
        // gRPC Simple, from this checkout. `name:` fixes its identity whatever the folder is called.
        .package(name: "grpc-simple", path: "../.."),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
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
        .executableTarget(
            name: "person-server",
            dependencies: [
                "PersonService",
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "GRPCHealth", package: "grpc-simple"),
                .product(name: "GRPCReflection", package: "grpc-simple"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "person-client",
            dependencies: [
                "PersonService",
                .product(name: "GRPCSimple", package: "grpc-simple"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
