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
