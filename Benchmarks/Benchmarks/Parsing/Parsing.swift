import Benchmark
import CallSift
import CallSiftGenerate
import Foundation

/// CSV and NDJSON parsing (plain input, so decoding costs nothing): records cut, fields
/// read, timestamps parsed, callers pseudonymised, events built. Two sizes show that
/// allocations do not grow with the number of events.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .microseconds, scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 20)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-bench-parsing")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for format in [WorkloadFormat.csv, .ndjson] {
        for calls in [50_000, 200_000] {
            let path = dir.appendingPathComponent("calls-\(calls).\(format.rawValue)").path
            if !FileManager.default.fileExists(atPath: path) {
                let sink = try! makeByteSink(path: path, compression: .none)
                try! generateWorkload(GeneratorOptions(seed: 1, calls: calls, centres: 20, days: 7, format: format), into: sink)
            }
            Benchmark("parse \(format.rawValue) \(calls / 1000)k calls") { benchmark in
                blackHole(try Analysis.parseOnly([path], settings: AnalysisSettings()))
            }
        }
    }
}
