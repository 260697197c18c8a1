import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Results are set-based (docs/metrics.md defines calls and contacts by their times, not
/// the order they are read in: "Calls", "Classes and FCR"): the order of lines within the
/// lateness bound ("Accounting") and the way input is split into files must not change a
/// byte of the JSON.
@Suite struct PropertyTests {
    static func generated(seed: UInt64, dirty: Bool = false, format: WorkloadFormat = .csv) throws -> [Substring] {
        let options = GeneratorOptions(seed: seed, calls: 20_000, centres: 4, days: 10, format: format, dirty: dirty)
        let text = String(decoding: try generateWorkloadBytes(options).bytes, as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    static func ts(_ line: Substring) -> Int64? {
        var s = String(line.prefix { $0 != "," }.filter { $0 != "\"" })
        return s.withUTF8 { Timestamp.parse(UnsafeRawBufferPointer($0)) }
    }

    static func run(_ dir: TempDir, _ configure: (inout AnalysisSettings) -> Void = { _ in }) throws -> String {
        var settings = AnalysisSettings()
        configure(&settings)
        // The figures, without the files' names and contents, which the variants change.
        var report = try Scenario.analyze(paths: [dir.url.path], settings: settings)
        report.inputFiles = []
        return JSONReportWriter.render(report)
    }

    static func write(_ lines: [Substring], to path: String) throws {
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    static func clear(_ dir: TempDir) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.url.path) {
            try FileManager.default.removeItem(atPath: dir.path(name))
        }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func shufflingWithinTheLatenessBoundChangesNothing(seed: UInt64) throws {
        let all = try Self.generated(seed: seed)
        let header = all[0]
        let body = all.dropFirst().filter { !$0.isEmpty }
        let dir = try TempDir()
        try Self.write([header] + body, to: dir.path("calls.csv"))
        let original = try Self.run(dir) { $0.scope = .global }

        // Sort by time, then shuffle inside 5-minute buckets: no line ends up more than
        // 5 minutes below one read before it, well inside the 10-minute bound.
        var rng = SplitMix(seed: seed)
        let keyed = body.map { (Self.ts($0)!, $0) }.sorted { $0.0 < $1.0 }
        var shuffled: [Substring] = []
        var bucket: [Substring] = []
        var bucketStart = Int64.min
        for (t, line) in keyed {
            if t &- bucketStart >= 300_000 || bucket.isEmpty {
                shuffled += rng.shuffled(bucket)
                bucket = []
                bucketStart = t
            }
            bucket.append(line)
        }
        shuffled += rng.shuffled(bucket)
        #expect(shuffled.count == body.count)
        #expect(shuffled != Array(body))
        try Self.clear(dir)
        try Self.write([header] + shuffled, to: dir.path("calls.csv"))
        let reordered = try Self.run(dir) { $0.scope = .global }
        #expect(reordered == original)
        #expect(original.contains("\"late\": 0,"))
    }

    @Test(arguments: [UInt64(4), 5])
    func splittingIntoFilesPerCentreAndDayChangesNothing(seed: UInt64) throws {
        let all = try Self.generated(seed: seed)
        let header = all[0]
        let body = all.dropFirst().filter { !$0.isEmpty }
        let centreColumn = header.split(separator: ",").firstIndex(of: "centre")!
        let dir = try TempDir()
        try Self.write([header] + body, to: dir.path("calls.csv"))
        let whole = try Self.run(dir)

        var files: [String: [Substring]] = [:]
        for line in body {
            let centre = line.split(separator: ",", omittingEmptySubsequences: false)[centreColumn].filter { $0 != "\"" }
            let day = Timestamp.format(millis: Self.ts(line)!).prefix(10)
            files["\(centre)-\(day).csv", default: [header]].append(line)
        }
        #expect(files.count > 20)
        try Self.clear(dir)
        for (name, lines) in files { try Self.write(lines, to: dir.path(name)) }
        let split = try Self.run(dir)
        #expect(split == whole)
    }

    @Test func accountingHoldsOnDirtyData() throws {
        for format in [WorkloadFormat.csv, .ndjson] {
            let options = GeneratorOptions(seed: 9, calls: 20_000, centres: 4, days: 10, format: format, dirty: true)
            let (bytes, summary) = try generateWorkloadBytes(options)
            let dir = try TempDir()
            try Data(bytes).write(to: URL(fileURLWithPath: dir.path("dirty")))
            var settings = AnalysisSettings()
            settings.period = .all
            let r = try Scenario.analyze(paths: [dir.path("dirty")], settings: settings)
            #expect(r.accountingHolds)
            #expect(r.lines.rejectedTotal > 0)
            #expect(r.lines.late > 0)
            #expect(r.calls.duplicates > 0)
            #expect(r.calls.incomplete > 0)
            #expect(r.calls.conflicting > 0)
            #expect(r.calls.contacts > 15_000)
            #expect(r.lines.lines >= Int64(summary.events))
        }
    }
}

/// A small seeded generator for test shuffles.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func shuffled<T>(_ a: [T]) -> [T] {
        var a = a
        if a.count < 2 { return a }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, Int(next() % UInt64(i + 1)))
        }
        return a
    }
}
