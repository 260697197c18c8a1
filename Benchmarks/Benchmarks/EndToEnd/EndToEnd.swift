import Benchmark
import CallSift
import Foundation

/// Whole `analyze` runs over generated traffic from one zstd CSV: decode, parse,
/// assemble, classify, aggregate, with 1 and 2 threads. Two sizes show that allocations
/// do not grow with the number of events (no allocation per event in steady state).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .one, maxDuration: .seconds(30), maxIterations: 5)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-bench")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for calls in [100_000, 400_000] {
        let path = dir.appendingPathComponent("calls-\(calls).csv.zst").path
        if !FileManager.default.fileExists(atPath: path) {
            let sink = try! makeByteSink(path: path, compression: .zstd)
            try! generateWorkload(GeneratorOptions(seed: 1, calls: calls, centres: 20, days: 28), into: sink)
        }
        for threads in [1, 2] {
            Benchmark("analyze csv.zst \(calls / 1000)k calls, \(threads) thread\(threads == 1 ? "" : "s")") { benchmark in
                let analysis = try Analysis(settings: AnalysisSettings(), inputs: [path],
                                            pseudonymiser: Pseudonymiser(k0: 1, k1: 2),
                                            execution: ExecutionOptions(threads: threads, shards: 1))
                blackHole(try analysis.run())
            }
        }
    }
}
