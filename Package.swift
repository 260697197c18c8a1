// swift-tools-version:6.0
import PackageDescription

/// No target has special compiler flags: a plain `swift build -c release`, and any package
/// that depends on these libraries, gets the full speed. What flags once bought is in the
/// code (docs/performance.md, "Fast for everyone who builds it"): the generic tables of
/// CallSiftConcurrency are `@inlinable`, so they are specialised for the engine's types in
/// the engine's module, and the hot state is kept where no dynamic exclusivity check is
/// needed.
let package = Package(
    name: "callsift",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CallSift", targets: ["CallSift"]),
        .library(name: "CallSiftAccredit", targets: ["CallSiftAccredit"]),
        .library(name: "CallSiftGenerate", targets: ["CallSiftGenerate"]),
        .library(name: "CallSiftConcurrency", targets: ["CallSiftConcurrency"]),
        .library(name: "CallSiftServe", targets: ["CallSiftServe"]),
        .executable(name: "callsift", targets: ["callsift"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
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
                           .product(name: "HeapModule", package: "swift-collections")]
        ),
        // The layers, each a target that imports only those beneath it (docs/architecture.md,
        // "Targets"): values, then input and formats, then the engine, then the two programs
        // built on it.
        .target(
            name: "CallSiftCore", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]),
        .target(
            name: "CallSiftInput",
            dependencies: ["CallSiftCore", "CallSiftConcurrency", "CZstd", "CLZ4", "CZlib", "CMemory",
                           .product(name: "Atomics", package: "swift-atomics"),
                           .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "CallSiftFormats",
            dependencies: ["CallSiftCore", "CallSiftInput", "CMemory", .product(name: "HeapModule", package: "swift-collections")]
        ),
        .target(
            name: "CallSift",
            dependencies: ["CallSiftCore", "CallSiftInput", "CallSiftFormats", "CallSiftConcurrency", "CMemory",
                           .product(name: "Atomics", package: "swift-atomics"),
                           .product(name: "HeapModule", package: "swift-collections"),
                           .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(name: "CallSiftAccredit", dependencies: ["CallSift"]),
        // The HTTP server of `--serve` (the wallboard, /metrics): a target of its own, so
        // that the CallSift library does not depend on an HTTP stack.
        .target(name: "CallSiftServe", dependencies: ["CallSift", .product(name: "Hummingbird", package: "hummingbird")]),
        .target(
            name: "CallSiftGenerate",
            dependencies: ["CallSiftCore", "CallSiftInput", .product(name: "HeapModule", package: "swift-collections")]
        ),
        .executableTarget(
            name: "callsift",
            dependencies: ["CallSift", "CallSiftAccredit", "CallSiftGenerate", "CallSiftConcurrency", "CallSiftServe",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The README's "Using the library" example: `swift run library-example`.
        .executableTarget(name: "library-example", dependencies: ["CallSift"], path: "Examples/LibraryExample"),
        // One test target per source target, plus the command line's tests on samples/.
        .testTarget(name: "CallSiftCoreTests", dependencies: ["CallSiftCore"]),
        .testTarget(name: "CallSiftInputTests", dependencies: ["CallSiftInput"]),
        .testTarget(name: "CallSiftFormatsTests", dependencies: ["CallSiftFormats", "CallSiftInput"]),
        .testTarget(name: "CallSiftTests", dependencies: ["CallSift", "CallSiftAccredit", "CallSiftGenerate", "CallSiftConcurrency"]),
        .testTarget(name: "CallSiftAccreditTests", dependencies: ["CallSiftAccredit"]),
        .testTarget(name: "CallSiftGenerateTests", dependencies: ["CallSiftGenerate"]),
        .testTarget(name: "CallSiftConcurrencyTests", dependencies: ["CallSiftConcurrency"]),
        .testTarget(name: "CallSiftServeTests", dependencies: ["CallSiftServe", "CallSift"]),
        // Fixtures/: state folders written by earlier versions, read by the tests in place.
        .testTarget(name: "CLITests", dependencies: ["callsift"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
