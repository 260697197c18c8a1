import Benchmark
import CallSift
import CallSiftGenerate
import Foundation

/// Whole `analyze` runs over generated traffic from one zstd CSV: decode, parse,
/// assemble, classify, aggregate, with 1 and 2 threads. Two lengths of the same traffic
/// (the same calls a day, over 7 and over 28 days) show that allocations do not grow with
/// the number of events: no allocation per event in steady state. (Denser traffic needs
/// bigger tables and buckets, so more calls a day would show a few more allocations.)
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .one, maxDuration: .seconds(30), maxIterations: 5)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-bench")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (calls, days) in [(100_000, 7), (400_000, 28)] {
        let path = dir.appendingPathComponent("calls-\(calls)-\(days)d.csv.zst").path
        if !FileManager.default.fileExists(atPath: path) {
            let sink = try! makeByteSink(path: path, compression: .zstd)
            try! generateWorkload(GeneratorOptions(seed: 1, calls: calls, centres: 20, days: days), into: sink)
        }
        for threads in [1, 2] {
            Benchmark("analyze csv.zst \(calls / 1000)k calls over \(days) days, \(threads) thread\(threads == 1 ? "" : "s")") { benchmark in
                let analysis = try Analysis(settings: AnalysisSettings(), inputs: [path],
                                            pseudonymiser: Pseudonymiser(k0: 1, k1: 2),
                                            execution: ExecutionOptions(threads: threads, shards: 1))
                blackHole(try analysis.run())
            }
        }
    }
}
