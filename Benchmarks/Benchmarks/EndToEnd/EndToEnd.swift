import Benchmark
import CallSift
import Foundation

/// Whole `analyze` runs over generated traffic: decode, parse, assemble, classify,
/// aggregate. Throughput is reported per event.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(20),
        maxIterations: 5
    )

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-bench")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

    func input(calls: Int, compression: Compression, format: WorkloadFormat) -> (path: String, events: Int) {
        let path = dir.appendingPathComponent("calls-\(calls)-\(format.rawValue).\(compression.rawValue)").path
        let options = GeneratorOptions(seed: 1, calls: calls, centres: 20, days: 28, format: format)
        let sink = try! makeByteSink(path: path, compression: compression)
        let summary = try! generateWorkload(options, into: sink)
        return (path, summary.events)
    }

    for (compression, format) in [(Compression.zstd, WorkloadFormat.csv), (.lz4, .ndjson)] {
        let (path, events) = input(calls: 200_000, compression: compression, format: format)
        Benchmark("analyze \(format.rawValue).\(compression.rawValue) 200k calls",
                  configuration: .init(scalingFactor: .one)) { benchmark in
            for _ in benchmark.scaledIterations {
                let analysis = try Analysis(settings: AnalysisSettings(), inputs: [path],
                                            pseudonymiser: Pseudonymiser(k0: 1, k1: 2))
                blackHole(try analysis.run())
            }
            benchmark.measurement(.throughput, events)
        }
    }
}
