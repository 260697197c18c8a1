// swift-tools-version:6.1
// The benchmark suite lives in its own package so that users of the CallSift library
// never pull in the benchmark plugin. Run from this folder:
//   swift package benchmark
// or, for the figures of the performance issue with the data they need:
//   ../scripts/perf-figures.sh
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, so the main package's identity is
/// whatever the clone's folder is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

func suite(_ name: String, _ extra: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            .product(name: "CallSift", package: root),
            .product(name: "Benchmark", package: "package-benchmark"),
        ] + extra,
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
    )
}

let package = Package(
    name: "callsift-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The suites that generate their data use CallSiftGenerate, a product of its own.
        suite("Decoders", [.product(name: "CallSiftGenerate", package: root)]),
        suite("Parsing", [.product(name: "CallSiftGenerate", package: root)]),
        suite("Ring", [.product(name: "CallSiftConcurrency", package: root)]),
        suite("ShardTable", [.product(name: "CallSiftConcurrency", package: root)]),
        suite("EndToEnd", [.product(name: "CallSiftGenerate", package: root)]),
    ]
)
