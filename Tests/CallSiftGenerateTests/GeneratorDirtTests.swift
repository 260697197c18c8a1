import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftGenerate

/// What a reader of the dirty output finds, classified independently of the generator.
private struct DirtFound {
    var blank = 0
    var duplicates = 0
    var badTimestamp = 0
    var unknownEvent = 0
    var missingField = 0
    var unparseable = 0  // garbage, unterminated quote, truncated JSON, invalid UTF-8
    var late = 0
    var repeatedHeaders = 0
    var incomplete = 0
    var conflicting = 0
}

private func inspect(_ bytes: [UInt8], format: WorkloadFormat) -> DirtFound {
    var found = DirtFound()
    var seen = Set<[UInt8]>()
    var greatest = Int64.min
    var good: [GeneratedLog.Record] = []
    for (n, line) in GeneratedLog.lines(bytes).enumerated() {
        if line.isEmpty {
            found.blank += 1
            continue
        }
        if format == .csv && n > 0 && line == Array("ts,centre,call,event,caller,service,outcome,reason".utf8) {
            found.repeatedHeaders += 1
            continue
        }
        if !seen.insert(line).inserted { found.duplicates += 1 }
        var fields: [String: String] = [:]
        if format == .csv {
            guard n > 0 else { continue }
            guard let values = GeneratedLog.csvFields(line), values.count == 8 else {
                found.unparseable += 1
                continue
            }
            for (k, v) in zip(GeneratedLog.keys, values) where !v.isEmpty { fields[k] = v }
        } else {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                found.unparseable += 1
                continue
            }
            for (k, v) in object {
                if let s = v as? String { if !s.isEmpty { fields[k] = s } } else if let x = v as? NSNumber { fields[k] = "\(x.int64Value)" }
            }
        }
        guard ["ts", "centre", "call", "event"].allSatisfy({ fields[$0] != nil }) else {
            found.missingField += 1
            continue
        }
        guard let t = GeneratedLog.parseTimestamp(fields["ts"]!) else {
            found.badTimestamp += 1
            continue
        }
        guard GeneratedLog.eventNames.contains(fields["event"]!) else {
            found.unknownEvent += 1
            continue
        }
        if greatest != .min && t < greatest - 600_000 {
            found.late += 1
            continue
        }
        greatest = max(greatest, t)
        good.append(GeneratedLog.Record(fields: fields, millis: t, line: n + 1))
    }
    // Calls, from the good lines without exact duplicates (same call, event and ts).
    var unique: [GeneratedLog.Record] = []
    var keys = Set<String>()
    for r in good where keys.insert(r["centre"] + "|" + r["call"] + "|" + r["event"] + "|\(r.millis)").inserted {
        unique.append(r)
    }
    for call in GeneratedLog.calls(unique) {
        let kinds = call.map { $0["event"] }
        let count = { (names: [String]) in kinds.filter { names.contains($0) }.count }
        let arrive = call.first { $0["event"] == "arrive" }?.millis
        let answer = call.first { $0["event"] == "answer" }?.millis
        let terminal = call.first { ["abandon", "blocked", "end"].contains($0["event"]) }?.millis
        var backwards = false
        if let a = arrive, let b = answer, b < a { backwards = true }
        if let b = answer ?? arrive, let c = terminal, c < b { backwards = true }
        if count(["arrive"]) > 1 || count(["answer"]) > 1 || count(["abandon", "blocked", "end"]) > 1
            || (kinds.contains("end") && !kinds.contains("answer")) || backwards
        {
            found.conflicting += 1
        } else if count(["arrive"]) == 0 || count(["abandon", "blocked", "end"]) == 0 {
            found.incomplete += 1
        }
    }
    return found
}

@Suite("Generator: dirty mode")
struct GeneratorDirtTests {
    @Test("dirty output contains every kind of dirt", arguments: [WorkloadFormat.csv, .ndjson])
    func everyKind(format: WorkloadFormat) throws {
        let o = GeneratorOptions(seed: 9, calls: 6000, centres: 3, days: 3, format: format, dirty: true)
        let (bytes, summary) = try generateWorkloadBytes(o)
        let found = inspect(bytes, format: format)
        #expect(found.blank > 0 && found.blank == summary.blankLines)
        #expect(found.duplicates > 0)
        #expect(found.badTimestamp > 0)
        #expect(found.unknownEvent > 0)
        #expect(found.missingField > 0)
        #expect(found.unparseable >= summary.garbageLines)
        #expect(found.unparseable > 0)
        #expect(found.late > 0)
        #expect(found.incomplete > 0)
        #expect(found.conflicting > 0)
        // One more header for each new day (the last day's late calls may spill into a fourth).
        if format == .csv { #expect(found.repeatedHeaders == summary.repeatedHeaders && found.repeatedHeaders >= 2) }
        // The summary says the same, kind by kind.
        for count in [
            summary.duplicateLines, summary.badTimestampLines, summary.unknownEventLines,
            summary.missingFieldLines, summary.garbageLines, summary.brokenSyntaxLines,
            summary.lateEvents, summary.blankLines, summary.incompleteCalls, summary.conflictingCalls,
        ] {
            #expect(count > 0)
        }
    }

    @Test("dirt stays at low rates")
    func lowRates() throws {
        let (bytes, summary) = try generateWorkloadBytes(GeneratorOptions(seed: 3, calls: 20_000, dirty: true))
        let total = Double(summary.lines)
        for count in [
            summary.duplicateLines, summary.lateEvents, summary.blankLines,
            summary.badTimestampLines + summary.unknownEventLines + summary.missingFieldLines,
        ] {
            #expect(Double(count) / total < 0.02)
            #expect(Double(count) / total > 0.003)
        }
        #expect(Double(summary.incompleteCalls + summary.conflictingCalls) / Double(summary.calls) < 0.03)
        // The one unterminated quote is the last line, so no reader can lose lines after it.
        let lines = GeneratedLog.lines(bytes)
        #expect(GeneratedLog.csvFields(lines.last!) == nil)
        #expect(lines.last!.filter { $0 == UInt8(ascii: "\"") }.count == 1)
        for line in lines.dropLast() {
            #expect(line.filter { $0 == UInt8(ascii: "\"") }.count % 2 == 0)
        }
    }

    @Test("dirty NDJSON mixes omitted and empty-string keys, and unknown keys")
    func ndjsonStyles() throws {
        let o = GeneratorOptions(seed: 4, calls: 2000, format: .ndjson, dirty: true)
        let text = String(decoding: try generateWorkloadBytes(o).bytes, as: UTF8.self)
        #expect(text.contains("\"reason\":\"\""))
        #expect(text.contains("\"channel\":"))
        #expect(text.contains("\"event\":\"answer\"}"))
    }

    @Test("clean output has no dirt at all", arguments: [WorkloadFormat.csv, .ndjson])
    func cleanHasNone(format: WorkloadFormat) throws {
        let o = GeneratorOptions(seed: 9, calls: 6000, centres: 3, days: 3, format: format)
        let (bytes, summary) = try generateWorkloadBytes(o)
        let found = inspect(bytes, format: format)
        #expect(found.blank == 0 && found.duplicates == 0 && found.badTimestamp == 0)
        #expect(found.unknownEvent == 0 && found.missingField == 0 && found.unparseable == 0)
        #expect(found.late == 0 && found.incomplete == 0 && found.conflicting == 0 && found.repeatedHeaders == 0)
        #expect(summary.duplicateLines + summary.lateEvents + summary.blankLines + summary.incompleteCalls == 0)
    }
}
