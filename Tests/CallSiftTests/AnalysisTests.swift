import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// The whole pipeline: compression, time zones, periods, output layout.
@Suite struct AnalysisTests {
    typealias S = Scenario

    static var sample: Scenario {
        var s = S()
        s.handled("a1", caller: "A", at: 0, outcome: "pending")
        s.handled("a2", caller: "A", at: 2 * S.day, reason: "progress_chase")
        s.abandoned("b1", caller: "B", at: S.hour)
        s.handled("b2", caller: "B", at: S.hour + 10 * S.minute, transferTo: "S2")
        s.blocked("c1", caller: "withheld", at: 3 * S.hour, service: "S2")
        s.horizon(20 * S.day)
        return s
    }

    @Test func everyCompressionGivesTheSameReport() throws {
        let dir = try TempDir()
        var settings = AnalysisSettings()
        settings.period = .all
        var outputs: [String] = []
        for compression in Compression.allCases {
            let path = dir.path("in.\(compression.rawValue)")
            let sink = try makeByteSink(path: path, compression: compression)
            try sink.write(Self.sample.csv)
            try sink.finish()
            // Same folder name each time, so config.inputs is equal too.
            let sub = dir.path("run-\(compression.rawValue)")
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: path, toPath: sub + "/input")
            var report = try S.analyze(paths: [sub + "/input"], settings: settings)
            report.inputFiles = []  // their bytes differ by compression; the figures must not
            var text = JSONReportWriter.render(report)
            text = text.replacingOccurrences(of: sub, with: "INPUT")
            outputs.append(text)
        }
        #expect(Set(outputs).count == 1)
        #expect(outputs[0].contains("\"contacts\": 5"))
    }

    @Test func concatenatedFramesAreOneStream() throws {
        let dir = try TempDir()
        var settings = AnalysisSettings()
        settings.period = .all
        let whole = try S.analyze(Self.sample.csv, settings: settings)
        let text = Self.sample.csv
        let cut = text.index(text.startIndex, offsetBy: text.count / 2)
        let firstHalfEnd = text[..<cut].lastIndex(of: "\n")!
        let a = String(text[...firstHalfEnd]), b = String(text[text.index(after: firstHalfEnd)...])
        for compression in [Compression.zstd, .lz4, .gzip] {
            var bytes = Data()
            for part in [a, b] {
                let p = dir.path("part")
                let sink = try makeByteSink(path: p, compression: compression)
                try sink.write(part)
                try sink.finish()
                bytes += try Data(contentsOf: URL(fileURLWithPath: p))
            }
            let path = dir.path("joined")
            try bytes.write(to: URL(fileURLWithPath: path))
            let r = try S.analyze(paths: [path], settings: settings)
            #expect(r.rows == whole.rows)
            #expect(r.lines == whole.lines)
        }
    }

    @Test func truncatedStreamReportsWhatWasReadAndTheOffset() throws {
        let dir = try TempDir()
        var s = S()
        // Large enough for several zstd blocks (128 KiB each), so half the file holds whole ones.
        for i in 0..<20000 { s.handled("c\(i)", caller: "N\(i % 500)", at: Int64(i) * S.minute) }
        let path = dir.path("in.csv.zst")
        let sink = try makeByteSink(path: path, compression: .zstd)
        try sink.write(s.csv)
        try sink.finish()
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: path))
        var settings = AnalysisSettings()
        settings.period = .all
        let analysis = try Analysis(settings: settings, inputs: [path], pseudonymiser: Pseudonymiser(k0: 1, k1: 2))
        let outcome = try analysis.run()
        #expect(outcome.errors.count == 1)
        #expect(outcome.errors[0].input == path)
        #expect(outcome.errors[0].offset > 0)
        let r = outcome.report
        #expect(r.calls.contacts > 100)
        #expect(r.calls.contacts < 20000)
        #expect(r.accountingHolds)
    }

    @Test func daysFollowTheTimeZoneAcrossDST() throws {
        // Europe/London goes to +01:00 at 2026-03-29T01:00Z. 23:30Z on 2026-03-29 is
        // 00:30 on 2026-03-30 in London; 23:30Z on 2026-03-28 is still the 28th.
        let text = """
            ts,centre,call,event,caller,service
            2026-03-28T23:30:00Z,C1,a,arrive,A,S1
            2026-03-28T23:30:10Z,C1,a,blocked,,
            2026-03-29T23:30:00Z,C1,b,arrive,B,S1
            2026-03-29T23:30:10Z,C1,b,blocked,,
            """
        var settings = AnalysisSettings()
        settings.timeZone = "Europe/London"
        let london = try S.analyze(text, settings: settings)
        #expect(london.rows.map(\.period) == ["2026-03-28", "2026-03-30"])
        settings.timeZone = "UTC"
        let utc = try S.analyze(text, settings: settings)
        #expect(utc.rows.map(\.period) == ["2026-03-28", "2026-03-29"])
    }

    @Test func timestampFormsAreEquivalent() throws {
        let forms = [
            ("2026-03-02T09:00:00Z", "2026-03-02T09:00:07.5Z"),
            ("2026-03-02T10:00:00+01:00", "2026-03-02T04:00:07.500-05:00"),
            ("2026-03-02t09:00:00z", "2026-03-02 09:00:07.500999Z"),
            ("1772442000000", "1772442007500"),
        ]
        var results: [[Report.Row]] = []
        for (a, b) in forms {
            let text = "ts,centre,call,event,caller,service\n\(a),C1,x,arrive,A,S1\n\(b),C1,x,abandon,,\n"
            var settings = AnalysisSettings()
            settings.minCell = 0
            let r = try S.analyze(text, settings: settings)
            #expect(r.lines.rejectedTotal == 0)
            results.append(r.rows)
        }
        #expect(results.allSatisfy { $0 == results[0] })
        #expect(results[0].first?.counters.abandoned == 1)
    }

    @Test func rollUpsAreSumsOfBaseGroups() throws {
        var s = S()
        for d in 0..<70 {
            s.handled("h\(d)", caller: "A\(d % 9)", at: Int64(d) * S.day + 3 * S.hour, service: d % 2 == 0 ? "S1" : "S2")
        }
        s.horizon(100 * S.day)
        let base = try s.run { $0.period = .day }
        for period in Period.allCases {
            for grouping in AnalysisSettings.Grouping.allCases {
                let r = try s.run {
                    $0.period = period; $0.grouping = grouping
                }
                var total = Counters(), baseTotal = Counters()
                for row in r.rows { total.merge(row.counters) }
                for row in base.rows { baseTotal.merge(row.counters) }
                #expect(total == baseTotal)
                if grouping == .centre { #expect(r.rows.allSatisfy { $0.service == nil }) }
            }
        }
        let months = try s.run {
            $0.period = .month; $0.grouping = .centre
        }
        #expect(months.rows.filter { $0.centre == "C1" }.map(\.period) == ["2026-03", "2026-04", "2026-05"])
        let fy = try s.run {
            $0.period = .fyquarter; $0.grouping = .centre
        }
        #expect(fy.rows.filter { $0.centre == "C1" }.map(\.period) == ["2025-26 Q4", "2026-27 Q1"])
    }

    @Test func jsonLayout() throws {
        var settings = AnalysisSettings()
        settings.period = .week
        settings.minCell = 2
        let r = try S.analyze(Self.sample.csv, settings: settings, name: "sample.csv")
        let json = JSONReportWriter.render(r)
        let obj = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        #expect(Array(obj.keys).sorted() == ["accounting", "config", "horizon", "rows"])
        #expect(obj["horizon"] as? String == "2026-03-22T09:00:00.000Z")
        let rows = obj["rows"] as! [[String: Any]]
        let s1 = rows.first { $0["centre"] as? String == "C1" && $0["service"] as? String == "S1" }!
        #expect(s1["period"] as? String == "2026-W10")
        #expect(s1["contacts"] as? Int == 4)
        #expect(s1["progress_chase"] as? Int == 1)
        #expect(s1["retry"] as? Int == 1)
        let rates = s1["rates"] as! [String: [String: Any]]
        #expect(rates.keys.sorted() == ["abandon_rate", "avoidable_rate", "fcr_rate", "repeat_rate", "service_level", "transfer_rate"])
        let avoidable = rates["avoidable_rate"]!
        #expect(avoidable["x"] as? Int == 2 && avoidable["n"] as? Int == 4)
        #expect(avoidable["value"] as? Double == 0.5)
        let w = Wilson.interval(x: 2, n: 4)!
        #expect(json.contains("\"avoidable_rate\": {\"x\": 2, \"n\": 4, \"value\": 0.5, \"lo\": \(w.lo), \"hi\": \(w.hi)}"))
        // n = 1 < --min-cell 2: suppressed, x and n still shown.
        let s2 = rows.first { $0["service"] as? String == "S2" }!
        let sl = (s2["rates"] as! [String: [String: Any]])["service_level"]!
        #expect(sl["n"] as? Int == 0 && sl["value"] is NSNull)
        #expect(s2["asa_s"] is NSNull)
        let csv = CSVReportWriter.render(r)
        #expect(csv.hasPrefix("centre,service,period,contacts,identified,"))
        #expect(csv.split(separator: "\n").count == 1 + r.rows.count)
    }
}
