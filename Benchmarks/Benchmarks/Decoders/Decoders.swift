import Benchmark
import CallSift
import CallSiftGenerate
import Foundation

/// Each decoder over the same generated CSV (about 17 MB plain): throughput is bytes of
/// decoded output per second; allocations must not depend on the input's size.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 20)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-bench-decoders")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let options = GeneratorOptions(seed: 1, calls: 100_000, centres: 20, days: 7)
    for compression in Compression.allCases {
        let path = dir.appendingPathComponent("calls.\(compression.rawValue)").path
        if !FileManager.default.fileExists(atPath: path) {
            let sink = try! makeByteSink(path: path, compression: compression)
            try! generateWorkload(options, into: sink)
        }
        Benchmark("decode \(compression.rawValue)") { benchmark in
            var bytes = 0
            let reader = try InputReader(path: path)
            while let count = try reader.readChunk({ $0.count }) { bytes += count }
            reader.close()
            blackHole(bytes)
        }
    }
}
