import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// A folder of one file per centre and day, as centres deliver their logs, read by the
/// pool of input workers (`InputPool`): the same figures as one file of the same events,
/// at every thread count.
@Suite struct ManyInputsTests {
    /// Writes `options`' workload as one zstd file and as a folder split by centre and day.
    static func write(_ options: GeneratorOptions, into dir: TempDir) throws -> (file: String, folder: String) {
        let file = dir.path("all.csv.zst")
        _ = try generateWorkload(options, into: try makeByteSink(path: file, compression: .zstd))
        let folder = dir.path("days")
        let split = try CentreDaySplitSink(directory: folder, compression: .zstd)
        _ = try generateWorkload(options, into: split)
        return (file, folder)
    }

    static func run(_ inputs: [String], threads: Int, scope: AnalysisSettings.Scope = .centre) throws -> Report {
        var settings = AnalysisSettings()
        settings.scope = scope
        var report = try Analysis(
            settings: settings, inputs: inputs, pseudonymiser: Pseudonymiser(k0: 5, k1: 6),
            execution: ExecutionOptions(threads: threads)
        ).run().report
        report.inputs = []
        report.inputFiles = []
        return report
    }

    /// Clean traffic: splitting by centre and day changes no figure (lateness is judged
    /// per input, so dirty traffic's late lines may differ; see the next test).
    @Test func folderOfDailyFilesEqualsOneFile() throws {
        let dir = try TempDir()
        let (file, folder) = try Self.write(GeneratorOptions(seed: 12, calls: 40_000, centres: 8, days: 6), into: dir)
        let files = try Analysis.expand([folder])
        #expect(files.count >= 8 * 6)
        let one = JSONReportWriter.render(try Self.run([file], threads: 1))
        for threads in [1, 2, 4] {
            #expect(JSONReportWriter.render(try Self.run([folder], threads: threads)) == one, "threads \(threads)")
        }
        #expect(one.contains("\"repeat\": "))
    }

    /// Dirty traffic in many files: one result at every thread count and scope, with the
    /// accounting identity, and the same late lines as each file read on its own would have.
    @Test func dirtyFolderIsTheSameAtEveryThreadCount() throws {
        let dir = try TempDir()
        let (_, folder) = try Self.write(GeneratorOptions(seed: 13, calls: 30_000, centres: 6, days: 5, dirty: true), into: dir)
        for scope in [AnalysisSettings.Scope.centre, .global] {
            var outputs: Set<String> = []
            for threads in [1, 2, 4] {
                let r = try Self.run([folder], threads: threads, scope: scope)
                #expect(r.accountingHolds)
                outputs.insert(JSONReportWriter.render(r))
            }
            #expect(outputs.count == 1, "scope \(scope)")
        }
    }
}

/// A folder's files are read by path, except that the files logrotate leaves of one log
/// are read oldest first (docs/metrics.md, "Input records").
@Suite struct RotationOrderTests {
    @Test func rotatedFilesOfALogOldestFirst() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-rotation-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let names = [
            "queue_log", "queue_log.1", "queue_log.2.gz", "queue_log.10.gz", "a.csv", "z.csv.zst",
            "ctr-20261206.gz", "ctr-20261205", "ctr-2026-12-07.zst", "ctr", "ctr-20261206-1200.gz",
            "sub/x.log.1", "sub/x.log",
        ]
        for n in names {
            let url = dir.appendingPathComponent(n)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data().write(to: url)
        }
        let read = try Analysis.expand([dir.path]).map { String($0.dropFirst(dir.path.count + 1)) }
        #expect(
            read == [
                "a.csv", "ctr-20261205", "ctr-20261206.gz", "ctr-20261206-1200.gz", "ctr-2026-12-07.zst", "ctr",
                "queue_log.10.gz", "queue_log.2.gz", "queue_log.1", "queue_log", "sub/x.log.1", "sub/x.log", "z.csv.zst",
            ])
    }

    /// Names that only look like rotation leave the order by path as it was.
    @Test func otherNamesKeepTheirOrder() {
        let paths = ["2026-03-02/C01.csv.zst", "2026-03-02/C02.csv.zst", "2026-03-03/C01.csv.zst", "calls.csv", "calls.ndjson"]
        #expect(paths.shuffled().sorted(by: RotationOrder.precedes) == paths)
        #expect(RotationOrder.key("C01-000000275").rank == 2)
        #expect(RotationOrder.key("log-20261340").rank == 2)  // no 13th month
        #expect(RotationOrder.key("log-2026-12-06T10").rank == 1)
    }
}
