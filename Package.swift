// swift-tools-version:6.0
import PackageDescription

/// Release builds skip the dynamic exclusivity checks on class properties: the hot loops
/// touch stage state millions of times a second, and the checks cost about a tenth of
/// the run time. Debug builds (and so the tests) keep them.
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "callsift",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "CallSift", targets: ["CallSift"]),
        .library(name: "CallSiftConcurrency", targets: ["CallSiftConcurrency"]),
        .executable(name: "callsift", targets: ["callsift"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Header only: a prefetch hint and mremap for the hash tables, futex waits for the rings,
        // and byte masks sixteen at a time for the line scans (Swift can call none of them).
        .systemLibrary(name: "CMemory"),
        .target(
            name: "CallSiftConcurrency",
            dependencies: ["CMemory", .product(name: "Atomics", package: "swift-atomics"),
                           .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "CallSift",
            dependencies: ["CZstd", "CLZ4", "CZlib", "CMemory", "CallSiftConcurrency", .product(name: "Atomics", package: "swift-atomics"),
                           .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: hotPathSettings
        ),
        .executableTarget(
            name: "callsift",
            dependencies: ["CallSift", "CallSiftConcurrency", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "CallSiftTests", dependencies: ["CallSift", "CallSiftConcurrency"]),
        .testTarget(name: "CallSiftConcurrencyTests", dependencies: ["CallSiftConcurrency"]),
        .testTarget(name: "CLITests", dependencies: ["callsift"]),
    ],
    swiftLanguageModes: [.v5]
)
