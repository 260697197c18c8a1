import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

@Suite struct ReportMergeTests {
    /// Two weeks of generated traffic at four centres, as CSV lines split by centre.
    static func workload() throws -> (header: String, byCentre: [String: [String]], all: [String]) {
        let bytes = try generateWorkloadBytes(GeneratorOptions(seed: 11, calls: 12_000, centres: 4, days: 14)).bytes
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        let header = lines[0]
        let centreColumn = header.split(separator: ",").firstIndex(of: "centre")!
        var byCentre: [String: [String]] = [:]
        for line in lines.dropFirst() {
            // Some generated lines quote every field; centre ids never hold commas or quotes.
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            let centre = fields[centreColumn].replacingOccurrences(of: "\"", with: "")
            byCentre[centre, default: []].append(line)
        }
        return (header, byCentre, Array(lines.dropFirst()))
    }

    static func settings() -> AnalysisSettings {
        var s = AnalysisSettings()
        s.period = .day
        s.scope = .centre
        return s
    }

    /// Analyses each centre's lines as its own input, writes and reads back each JSON
    /// (as `callsift merge` does) and merges them.
    static func mergedByCentre(header: String, byCentre: [String: [String]], extra: (Int) -> [String], in dir: TempDir) throws -> Report {
        var parts: [String] = []
        for (k, centre) in byCentre.keys.sorted().enumerated() {
            let url = dir.url.appendingPathComponent("\(centre).csv")
            try Data((([header] + byCentre[centre]! + extra(k)).joined(separator: "\n") + "\n").utf8).write(to: url)
            parts.append(url.path)
        }
        let reports = try parts.map { try Scenario.analyze(paths: [$0], settings: Self.settings()) }
        let readBack = try reports.enumerated().map { try ReportReader.read(data: Data(JSONReportWriter.render($0.element).utf8), name: "part\($0.offset)") }
        let merged = try ReportMerge.merge(readBack, names: parts)
        #expect(merged.inputs == parts)
        return merged
    }

    @Test func splitByCentreEqualsOneRun() throws {
        let (header, byCentre, all) = try Self.workload()
        let dir = try TempDir()
        let allURL = dir.url.appendingPathComponent("all.csv")
        try Data((([header] + all).joined(separator: "\n") + "\n").utf8).write(to: allURL)
        let whole = try Scenario.analyze(paths: [allURL.path], settings: Self.settings())

        // As split: every counter but FCR maturity agrees. Each part judges maturity
        // (t + W ≤ horizon) against its own horizon, the latest event of that centre, so a
        // few contacts near the end are still pending in the part but mature in one run.
        var merged = try Self.mergedByCentre(header: header, byCentre: byCentre, extra: { _ in [] }, in: dir)
        #expect(merged.rows.count == whole.rows.count)
        var maturityDiffers = false
        for (m, w) in zip(merged.rows, whole.rows) {
            var a = m.counters, b = w.counters
            #expect(a.fcrEligible + a.fcrPending == b.fcrEligible + b.fcrPending)
            maturityDiffers = maturityDiffers || a.fcrPending != b.fcrPending
            a.fcrEligible = 0; a.fcr = 0; a.fcrPending = 0
            b.fcrEligible = 0; b.fcr = 0; b.fcrPending = 0
            #expect(a == b, "\(m.centre) \(m.service ?? "") \(m.period)")
        }
        #expect(maturityDiffers)  // this data shows the effect; docs/accreditation.md explains it
        #expect(merged.lines == whole.lines && merged.calls == whole.calls && merged.horizon == whole.horizon)

        // With a common horizon (here: one lone event at the overall horizon in every part
        // and in the single run, an incomplete call of a centre without contacts) the merge
        // is byte-identical to the single run.
        let h = Timestamp.format(millis: whole.horizon!)
        let marks = (0..<byCentre.count).map { "\(h),ZZ,horizon-\($0),answer,,,," }
        try Data((([header] + all + marks).joined(separator: "\n") + "\n").utf8).write(to: allURL)
        let wholeMarked = try Scenario.analyze(paths: [allURL.path], settings: Self.settings())
        merged = try Self.mergedByCentre(header: header, byCentre: byCentre, extra: { [marks[$0]] }, in: dir)
        merged.inputs = wholeMarked.inputs
        merged.inputFiles = wholeMarked.inputFiles
        let (m, w) = (JSONReportWriter.render(merged), JSONReportWriter.render(wholeMarked))
        #expect(m == w)
        if m != w, let out = ProcessInfo.processInfo.environment["CALLSIFT_DEBUG_DIR"] {
            try? Data(m.utf8).write(to: URL(fileURLWithPath: out + "/merged.json"))
            try? Data(w.utf8).write(to: URL(fileURLWithPath: out + "/whole.json"))
        }
    }

    @Test func associativeWithIdentity() throws {
        let (header, byCentre, _) = try Self.workload()
        let dir = try TempDir()
        var reports: [Report] = []
        // Three parts by time: the second week split off, and one centre alone.
        let centres = byCentre.keys.sorted()
        for (k, chunk) in [Array(centres[0..<1]), Array(centres[1..<3]), Array(centres[3...])].enumerated() {
            let url = dir.url.appendingPathComponent("p\(k).csv")
            try Data((([header] + chunk.flatMap { byCentre[$0]! }).joined(separator: "\n") + "\n").utf8).write(to: url)
            var s = Self.settings()
            s.period = .week
            reports.append(try Scenario.analyze(paths: [url.path], settings: s))
        }
        let (a, b, c) = (reports[0], reports[1], reports[2])
        let left = ReportMerge.merge(ReportMerge.merge(a, b), c)
        let right = ReportMerge.merge(a, ReportMerge.merge(b, c))
        #expect(JSONReportWriter.render(left) == JSONReportWriter.render(right))
        // Overlapping rows add: merging a report with itself doubles every counter.
        let doubled = ReportMerge.merge(a, a)
        #expect(doubled.rows.count == a.rows.count)
        #expect(zip(doubled.rows, a.rows).allSatisfy { $0.counters.contacts == 2 * $1.counters.contacts && $0.counters.fcr == 2 * $1.counters.fcr })
        #expect(doubled.lines.lines == 2 * a.lines.lines)
        #expect(doubled.horizon == a.horizon)
        // Merging one report changes nothing.
        #expect(JSONReportWriter.render(try ReportMerge.merge([a], names: ["a"])) == JSONReportWriter.render(a))
    }

    @Test func readBackIsByteIdentical() throws {
        var sc = Scenario()
        sc.handled("1", caller: "A", at: 0, outcome: "pending", reason: "odd\"code")
        sc.handled("2", caller: "A", at: Scenario.hour, reason: "progress_chase")
        sc.abandoned("3", caller: "", at: 2 * Scenario.hour)
        var report = try sc.run { $0.reasonMap = ["odd\"code": "clarification"] }
        report.inputs = ["a \"quoted\" path"]
        let text = JSONReportWriter.render(report)
        let back = try ReportReader.read(data: Data(text.utf8), name: "x")
        #expect(JSONReportWriter.render(back) == text)
        #expect(back.settings == report.settings)
    }

    @Test func differentSettingsAreRefusedByName() throws {
        var sc = Scenario()
        sc.handled("1", caller: "A", at: 0)
        let a = try sc.run()
        let b = try sc.run { $0.repeatWindow = 3 * Scenario.day }
        let c = try sc.run { $0.timeZone = "Europe/London" }
        let d = try sc.run { $0.scope = .global }
        let e = try sc.run { $0.reasonMap = ["X": "misdirected"] }
        for (other, name) in [(b, "repeat_window_ms"), (c, "tz"), (d, "scope"), (e, "reason_map")] {
            #expect {
                _ = try ReportMerge.merge([a, other], names: ["a.json", "b.json"])
            } throws: { error in
                "\(error)".contains("setting \(name) differs") && "\(error)".contains("a.json") && "\(error)".contains("b.json")
            }
        }
    }

    @Test func reasonMapChangesOnlyWhatItMaps() throws {
        var sc = Scenario()
        sc.handled("1", caller: "", at: 0, reason: "CHASE")
        sc.handled("2", caller: "", at: Scenario.hour, reason: "misdirected")
        sc.handled("3", caller: "", at: 2 * Scenario.hour, reason: "other")
        let plain = try sc.run()
        #expect(plain.total().avoidable == 1)
        #expect(plain.total().misdirected == 1)
        let mapped = try sc.run { $0.reasonMap = ["CHASE": "progress_chase", "misdirected": "none"] }
        #expect(mapped.total().progressChase == 1)
        #expect(mapped.total().misdirected == 0)
        #expect(mapped.total().avoidable == 1)
        // The map is printed in config only when set.
        #expect(!JSONReportWriter.render(plain).contains("reason_map"))
        #expect(JSONReportWriter.render(mapped).contains("\"reason_map\": {\"CHASE\": \"progress_chase\", \"misdirected\": \"none\"}"))
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func corpus(_ name: String) -> String { root.appendingPathComponent("Fuzz/corpus/report/\(name)").path }

    /// Reports whose counts are no counts or add up past an Int64 (Fuzz/corpus/report,
    /// regression-*: the real template report, Fuzz/templates/report.json, with counts
    /// changed) are refused naming the file, or the merge; `merge` trapped on the first
    /// (the sum of rejected), `accredit` on the second (its sum of a period's rows) and
    /// `merge` of the template with the third on the sum of their rows; the fourth, a
    /// negative count, was read and judged.
    @Test(arguments: [
        (
            "regression-rejected-overflow.json",
            "accounting: the \"rejected_total\" counts add up to more than 9223372036854775807"
        ),
        ("regression-row-counts-overflow.json", "rows[1]: the \"contacts\" counts add up to more than 9223372036854775807"),
        ("regression-negative-count.json", "rows[0]: \"fcr_eligible\" is -1, not a count"),
    ])
    func reportsWhoseCountsAreNoCountsAreRefused(file: String, message: String) throws {
        let path = Self.corpus(file)
        #expect {
            try ReportMerge.merge(paths: [path])
        } throws: { e in
            (e as? ReportReader.Error)?.description == "\(path): \(message)"
        }
    }

    @Test func mergesWhoseSumsOverflowAreRefused() throws {
        let big = Self.corpus("regression-merge-overflow.json")
        let template = Self.root.appendingPathComponent("Fuzz/templates/report.json").path
        _ = try ReportMerge.merge(paths: [big])
        #expect {
            try ReportMerge.merge(paths: [template, big])
        } throws: { e in
            "\(e)" == "cannot merge \(big) with \(template): the \"accounting.contacts\" counts add up to more than 9223372036854775807"
        }
    }

    /// The real template report (Fuzz/templates/report.json: week by service) with one
    /// change, as JSON, written to `dir`.
    static func changedTemplate(in dir: TempDir, _ change: (inout [String: Any]) -> Void) throws -> String {
        let template = try Data(contentsOf: root.appendingPathComponent("Fuzz/templates/report.json"))
        var json = try #require(try JSONSerialization.jsonObject(with: template) as? [String: Any])
        change(&json)
        let path = dir.path("changed-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Reports whose figures contradict each other as no run's can were read and judged:
    /// `fcr` above `fcr_eligible` gave a rate of 1.06 with no interval, a row twice was
    /// added up twice, a negative window was carried into the merge. Each is refused,
    /// naming the file and the place.
    @Test(arguments: [
        ("config.call_timeout_ms", "config: settings that no run gives (--call-timeout must be positive)"),
        ("accounting.lines", "accounting: lines (440) is not events + duplicates + rejected_total + late + skipped (439)"),
        ("accounting.skipped_kinds", "accounting: unknown skip kind 'coffee'"),
        ("accounting.skipped", "accounting: skipped is not the sum of skipped_kinds"),
        ("rows.twice", "rows[1]: a second row for C01 / benefits in 2026-W10"),
        ("rows.period", "rows[0]: \"period\" '2026-W60' is not a label of config.period (week)"),
        ("rows.day", "rows[0]: \"period\" '2026-03-02' is not a label of config.period (week)"),
        ("rows.fcr", "rows[0]: fcr is more than fcr_eligible"),
        ("rows.handled", "rows[0]: handled + abandoned + blocked (43) is more than contacts (42)"),
        ("rows.identified", "rows[0]: identified (43) is more than contacts (42)"),
        ("rows.repeat", "rows[0]: avoidable (10) is not the sum of its classes"),
        ("rows.short_abandoned", "rows[0]: short_abandoned is more than abandoned"),
        ("rows.answered_in_sl", "rows[0]: answered_in_sl is more than handled"),
        ("rows.contacts", "rows: their contacts add up to 151, not to accounting.calls.contacts (150)"),
    ])
    func reportsThatContradictThemselvesAreRefused(change: String, message: String) throws {
        let dir = try TempDir()
        let path = try Self.changedTemplate(in: dir) { json in
            var config = json["config"] as! [String: Any]
            var accounting = json["accounting"] as! [String: Any]
            var rows = json["rows"] as! [[String: Any]]
            switch change {
            case "config.call_timeout_ms": config["call_timeout_ms"] = -5
            case "accounting.lines": accounting["lines"] = 440
            case "accounting.skipped_kinds": accounting["skipped_kinds"] = ["coffee": 1]
            case "accounting.skipped": accounting["skipped_kinds"] = ["outbound": 1]
            case "rows.twice": rows.insert(rows[0], at: 1)
            case "rows.period": rows[0]["period"] = "2026-W60"
            case "rows.day": rows[0]["period"] = "2026-03-02"
            case "rows.fcr": rows[0]["fcr"] = 1
            case "rows.handled": rows[0]["blocked"] = 1
            case "rows.identified": rows[0]["identified"] = 43
            case "rows.repeat": rows[0]["repeat"] = 5
            case "rows.short_abandoned": rows[0]["short_abandoned"] = 10
            case "rows.answered_in_sl": rows[0]["answered_in_sl"] = 34
            case "rows.contacts": rows[1]["contacts"] = 9
            default: Issue.record("no change \(change)")
            }
            json["config"] = config
            json["accounting"] = accounting
            json["rows"] = rows
        }
        #expect {
            try ReportMerge.merge(paths: [path])
        } throws: { e in
            (e as? ReportReader.Error)?.description == "\(path): \(message)"
        }
        // The template itself reads, and merged alone gives itself back byte for byte.
        let template = Self.root.appendingPathComponent("Fuzz/templates/report.json").path
        #expect(JSONReportWriter.render(try ReportMerge.merge(paths: [template])) == (try String(contentsOfFile: template, encoding: .utf8)))
    }

    /// `skipped_kinds` (adapters' records that are no inbound call event, by kind) were not
    /// read back, so `merge` dropped them: a report merged alone was no longer itself.
    @Test func skippedKindsAreReadBack() throws {
        var sc = Scenario()
        sc.handled("1", caller: "A", at: 0)
        var report = try sc.run()
        let outbound = try #require(FormatRegistry.skipKind(named: "outbound"))
        let ring = try #require(FormatRegistry.skipKind(named: "ring"))
        report.lines.skippedKinds = [outbound: 2, ring: 1]
        report.lines.skipped = 3
        report.lines.lines += 3
        let text = JSONReportWriter.render(report)
        #expect(text.contains("\"skipped_kinds\": {\"outbound\": 2, \"ring\": 1}"))
        let back = try ReportReader.read(data: Data(text.utf8), name: "x")
        #expect(back.lines == report.lines)
        #expect(JSONReportWriter.render(try ReportMerge.merge([back], names: ["x"])) == text)
    }
}
