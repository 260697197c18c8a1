import Foundation
import Testing
@testable import CallSift

/// SPEC.md section 4: output never depends on thread count, shard count or scheduling.
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
                let rejects = dir.path("rejects-\(threads)-\(shards).tsv")
                let log = RejectsLog(sink: try makeByteSink(path: rejects, compression: .none))
                let analysis = try Analysis(settings: settings, inputs: [dir.url.path + "/"], pseudonymiser: Pseudonymiser(k0: 3, k1: 4),
                                            rejects: log, execution: ExecutionOptions(threads: threads, shards: shards))
                // Inputs are read from the folder; keep the rejects files out of it.
                outputs.insert(JSONReportWriter.render(try analysis.run().report))
                rejectFiles.insert(try Data(contentsOf: URL(fileURLWithPath: rejects)))
                try FileManager.default.moveItem(atPath: rejects, toPath: NSTemporaryDirectory() + "/\(UUID().uuidString).tsv")
            }
        }
        #expect(outputs.count == 1)
        #expect(rejectFiles.count == 1)
        #expect(outputs.first!.contains("\"late\": "))
    }
}
