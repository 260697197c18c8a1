import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Inputs that hold no event (empty, header only, every line rejected, random bytes) next
/// to real data: a folder of daily logs with days on which a centre was closed. Two or more
/// of them once made the merge's watermark wrap round to the far future, so every later
/// event was taken as already final (a crash in the classifier or the deadline wheel).
@Suite struct EventlessInputTests {
    /// Writes the eventless inputs of every kind into `dir`, named so that they sort
    /// before, between and after the data files.
    static func writeEventless(into dir: TempDir) throws {
        let header = "ts,centre,call,event,caller,service,outcome,reason\n"
        var random = SplitMix64(state: 77)
        let noise = Data((0..<5000).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        let files: [(String, Data, Compression)] = [
            ("a-empty.csv", Data(), .none),
            ("b-header.csv", Data(header.utf8), .none),
            ("m-rejected.csv", Data((header + "yesterday,C1,x,arrive,A,S1\n2026-03-02T09:00:00Z,C1,x,teleport,,\n").utf8), .none),
            ("n-random.bin", noise, .none),
            ("o-empty.csv.zst", Data(), .zstd),
            ("p-header.csv.gz", Data(header.utf8), .gzip),
            ("z-rejected.ndjson.lz4", Data("{\"ts\":\"never\",\"centre\":\"C1\"}\nnot json\n".utf8), .lz4),
        ]
        for (name, bytes, compression) in files {
            let sink = try makeByteSink(path: dir.path(name), compression: compression)
            try sink.write([UInt8](bytes))
            try sink.finish()
        }
    }

    @Test func eventlessInputsBesideDataChangeNoRow() throws {
        let data = try TempDir(), mixed = try TempDir()
        for (i, seed) in [UInt64(31), 32].enumerated() {
            let options = GeneratorOptions(seed: seed, calls: 3_000, centres: 3, days: 6, dirty: true)
            let bytes = Data(try generateWorkloadBytes(options).bytes)
            try bytes.write(to: URL(fileURLWithPath: data.path("f\(i).csv")))
            try bytes.write(to: URL(fileURLWithPath: mixed.path("f\(i).csv")))
        }
        try Self.writeEventless(into: mixed)
        var settings = AnalysisSettings()
        settings.period = .all
        for threads in [1, 2, 4] {
            for shards in [1, 3] {
                let execution = ExecutionOptions(threads: threads, shards: shards)
                let alone = try Analysis(
                    settings: settings, inputs: [data.url.path], pseudonymiser: Pseudonymiser(k0: 1, k1: 2),
                    execution: execution
                ).run()
                let beside = try Analysis(
                    settings: settings, inputs: [mixed.url.path], pseudonymiser: Pseudonymiser(k0: 1, k1: 2),
                    execution: execution
                ).run()
                #expect(beside.report.rows == alone.report.rows, "threads \(threads), shards \(shards)")
                #expect(beside.report.horizon == alone.report.horizon)
                #expect(beside.report.calls == alone.report.calls)
                #expect(beside.report.lines.late == alone.report.lines.late)
                #expect(beside.report.lines.rejectedTotal > alone.report.lines.rejectedTotal)
                #expect(beside.report.accountingHolds)
                #expect(alone.report.rows.count > 3)
            }
        }
    }

    /// Only eventless inputs: an empty report, no crash, every line accounted for.
    @Test func onlyEventlessInputs() throws {
        let dir = try TempDir()
        try Self.writeEventless(into: dir)
        for threads in [1, 2] {
            let outcome = try Analysis(
                settings: AnalysisSettings(), inputs: [dir.url.path], pseudonymiser: Pseudonymiser(k0: 1, k1: 2),
                execution: ExecutionOptions(threads: threads)
            ).run()
            #expect(outcome.report.rows.isEmpty)
            #expect(outcome.report.horizon == nil)
            #expect(outcome.report.accountingHolds)
            #expect(outcome.report.lines.lines > 4)
            #expect(outcome.report.lines.lines == outcome.report.lines.rejectedTotal)
        }
    }
}
