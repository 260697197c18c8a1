import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Output never depends on thread count, shard count or scheduling: docs/metrics.md
/// defines every figure from the input alone (docs/architecture.md, "Threads, rings and
/// shards").
@Suite struct DeterminismTests {
    @Test func threadsAndShardsGiveByteIdenticalOutput() throws {
        let dir = try TempDir()
        // Dirty traffic, split over several inputs so that several parsers run at once.
        for (i, seed) in [UInt64(21), 22, 23].enumerated() {
            let options = GeneratorOptions(seed: seed, calls: 4_000, centres: 3, days: 9, dirty: true)
            try Data(try generateWorkloadBytes(options).bytes).write(to: URL(fileURLWithPath: dir.path("part-\(i).csv")))
        }
        var outputs: Set<String> = []
        var rejectFiles: Set<Data> = []
        for threads in [1, 2, 4, 8] {
            for shards in [1, 3, 8] {
                var settings = AnalysisSettings()
                settings.scope = .global
                // Outside the folder of inputs, which is walked after the file is created.
                let rejects = NSTemporaryDirectory() + "/callsift-rejects-\(UUID().uuidString).tsv"
                defer { try? FileManager.default.removeItem(atPath: rejects) }
                let log = RejectsLog(sink: try makeByteSink(path: rejects, compression: .none))
                let analysis = try Analysis(
                    settings: settings, inputs: [dir.url.path + "/"], pseudonymiser: Pseudonymiser(k0: 3, k1: 4),
                    rejects: log, execution: ExecutionOptions(threads: threads, shards: shards))
                outputs.insert(JSONReportWriter.render(try analysis.run().report))
                rejectFiles.insert(try Data(contentsOf: URL(fileURLWithPath: rejects)))
            }
        }
        #expect(outputs.count == 1)
        #expect(rejectFiles.count == 1)
        #expect(outputs.first!.contains("\"late\": "))
    }

    /// When caller scopes are swept out changes no figure (state is dropped only when no
    /// future event can need it: docs/architecture.md, "State and memory"). Short windows
    /// make the sweeps remove many scopes, some of them just past a window.
    @Test func scopeSweepsChangeNoFigure() throws {
        let dir = try TempDir()
        let path = dir.path("in.csv")
        let options = GeneratorOptions(seed: 9, calls: 20_000, centres: 3, days: 12, dirty: true)
        try Data(try generateWorkloadBytes(options).bytes).write(to: URL(fileURLWithPath: path))
        var settings = AnalysisSettings()
        settings.repeatWindow = 86_400_000
        settings.chaseWindow = 2 * 86_400_000
        settings.retryWindow = 600_000
        var outputs: Set<String> = []
        var peaks: Set<Int> = []
        for interval: Int64 in [60_000, 3_600_000, 86_400_000, Classifier.defaultSweepInterval, .max] {
            let analysis = try Analysis(
                settings: settings, inputs: [path], pseudonymiser: Pseudonymiser(k0: 3, k1: 4),
                execution: ExecutionOptions(threads: 2, shards: 2, scopeSweepInterval: interval))
            let outcome = try analysis.run()
            outputs.insert(JSONReportWriter.render(outcome.report))
            peaks.insert(outcome.stats.peakScopes)
        }
        #expect(outputs.count == 1)
        // The sweeps did remove scopes: the peak depends on how often they ran.
        #expect(peaks.count > 1)
    }

    /// With one shard, classification on a thread of its own (2 threads) sees the same
    /// steps as inline (1 thread): the same peaks, not only the same output.
    @Test func classificationThreadSeesTheSameSteps() throws {
        let dir = try TempDir()
        let path = dir.path("in.csv")
        let options = GeneratorOptions(seed: 5, calls: 20_000, centres: 4, days: 20)
        try Data(try generateWorkloadBytes(options).bytes).write(to: URL(fileURLWithPath: path))
        var runs: [(String, Analysis.Stats)] = []
        for threads in [1, 2] {
            let analysis = try Analysis(
                settings: AnalysisSettings(), inputs: [path], pseudonymiser: Pseudonymiser(k0: 3, k1: 4),
                execution: ExecutionOptions(threads: threads, shards: 1))
            let outcome = try analysis.run()
            runs.append((JSONReportWriter.render(outcome.report), outcome.stats))
        }
        #expect(runs[0].0 == runs[1].0)
        #expect(runs[0].1.peakScopes > 0)
        #expect(runs[0].1.peakScopes == runs[1].1.peakScopes)
        #expect(runs[0].1.scopeBytesAtPeak == runs[1].1.scopeBytesAtPeak)
        #expect(runs[0].1.peakLiveCalls == runs[1].1.peakLiveCalls)
    }
}
