import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftGenerate

/// One clean week of 20 000 calls in each format, generated once for the tests below.
private let week = GeneratorOptions(seed: 42, calls: 20_000)
private let cleanCSV = GeneratedLog.generate(week)
private let cleanNDJSON: (text: [UInt8], summary: GeneratorSummary) = {
    var o = week
    o.format = .ndjson
    return GeneratedLog.generate(o)
}()
private let csvRecords = try! GeneratedLog.parseCSV(cleanCSV.text)
private let ndjsonRecords = try! GeneratedLog.parseNDJSON(cleanNDJSON.text)

@Suite("Generator: determinism")
struct GeneratorDeterminismTests {
    @Test("same options give the same bytes", arguments: [WorkloadFormat.csv, .ndjson], [false, true])
    func sameSeedSameBytes(format: WorkloadFormat, dirty: Bool) throws {
        let o = GeneratorOptions(seed: 7, calls: 3000, centres: 3, days: 3, format: format, dirty: dirty)
        let a = try generateWorkloadBytes(o)
        let b = try generateWorkloadBytes(o)
        #expect(a.bytes == b.bytes)
        #expect(a.summary == b.summary)
        #expect(a.bytes.count > 100_000)
    }

    @Test("a different seed gives different bytes")
    func differentSeedDifferentBytes() throws {
        let a = try generateWorkloadBytes(GeneratorOptions(seed: 1, calls: 2000))
        let b = try generateWorkloadBytes(GeneratorOptions(seed: 2, calls: 2000))
        #expect(a.bytes != b.bytes)
        #expect(a.summary.calls == b.summary.calls)
    }

    @Test("dirt is added to the same traffic: clean and dirty runs simulate the same calls")
    func dirtyKeepsTraffic() throws {
        let clean = try generateWorkloadBytes(GeneratorOptions(seed: 5, calls: 4000))
        let dirty = try generateWorkloadBytes(GeneratorOptions(seed: 5, calls: 4000, dirty: true))
        #expect(clean.summary.events == dirty.summary.events)
        #expect(clean.summary.midnightCrossings == dirty.summary.midnightCrossings)
    }

    @Test("the library writes into any ByteSink and finishes it")
    func finishesSink() throws {
        let sink = MemoryByteSink()
        let summary = try generateWorkload(GeneratorOptions(calls: 100), into: sink)
        #expect(sink.isFinished)
        #expect(summary.bytes == sink.bytes.count)
    }
}

@Suite("Generator: clean output parses")
struct GeneratorFormatTests {
    @Test("every clean CSV line has eight RFC 4180 fields, a valid event and its required keys")
    func csvLines() throws {
        #expect(csvRecords.count == cleanCSV.summary.events)
        #expect(cleanCSV.summary.lines == csvRecords.count + 1)  // + header
        for r in csvRecords { try checkRequired(r) }
        // Some lines quote every field (valid RFC 4180, as some exporters write).
        #expect(GeneratedLog.lines(cleanCSV.text).contains { $0.first == UInt8(ascii: "\"") })
    }

    @Test("every clean NDJSON line is a JSON object with a valid event and its required keys")
    func ndjsonLines() throws {
        #expect(ndjsonRecords.count == cleanNDJSON.summary.events)
        for r in ndjsonRecords { try checkRequired(r) }
        // Clean NDJSON omits empty keys, except caller on arrive (empty = withheld).
        for r in ndjsonRecords {
            for (k, v) in r.fields where v.isEmpty { #expect(k == "caller" && r["event"] == "arrive") }
        }
    }

    @Test("CSV and NDJSON carry the same events")
    func sameEvents() {
        #expect(csvRecords.count == ndjsonRecords.count)
        for (a, b) in zip(csvRecords, ndjsonRecords) {
            #expect(a.millis == b.millis && a["call"] == b["call"] && a["event"] == b["event"])
        }
    }

    private func checkRequired(_ r: GeneratedLog.Record) throws {
        let event = r["event"]
        #expect(GeneratedLog.eventNames.contains(event), "line \(r.line): event \(event)")
        #expect(!r["centre"].isEmpty && !r["call"].isEmpty, "line \(r.line)")
        #expect(r["call"].hasPrefix(r["centre"] + "-"), "line \(r.line)")
        switch event {
        case "arrive":
            #expect(r.fields["caller"] != nil, "line \(r.line): arrive without caller key")
            #expect(!r["service"].isEmpty, "line \(r.line): arrive without service")
        case "transfer":
            #expect(!r["service"].isEmpty, "line \(r.line): transfer without destination")
        case "end":
            #expect(["", "resolved", "pending", "unresolved"].contains(r["outcome"]), "line \(r.line)")
        default:
            #expect(r["outcome"].isEmpty, "line \(r.line)")
        }
        if event != "arrive" { #expect(r["caller"].isEmpty, "line \(r.line)") }
    }
}

@Suite("Generator: order and counts")
struct GeneratorOrderTests {
    @Test("clean events are in time order within 2 minutes", arguments: [0, 1])
    func roughlyOrdered(which: Int) {
        let records = which == 0 ? csvRecords : ndjsonRecords
        var greatest = records[0].millis
        var worst: Int64 = 0
        var disordered = 0
        for r in records {
            if r.millis < greatest { disordered += 1 }
            worst = max(worst, greatest - r.millis)
            greatest = max(greatest, r.millis)
        }
        #expect(worst <= 120_000)
        #expect(disordered > 0, "some small disorder is expected")
    }

    @Test("arrive lines equal --calls", arguments: [0, 1, 7, 50, 999, 12_345])
    func callCount(calls: Int) throws {
        let o = GeneratorOptions(seed: UInt64(calls) + 3, calls: calls, centres: 4, days: 5)
        let result = try generateWorkloadBytes(o)
        let records = try GeneratedLog.parseCSV(result.bytes)
        #expect(records.filter { $0["event"] == "arrive" }.count == calls)
        #expect(result.summary.calls == calls)
    }

    @Test("a single day, a single centre and a single service work")
    func smallest() throws {
        let o = GeneratorOptions(calls: 500, centres: 1, days: 1, servicesPerCentre: 1)
        let records = try GeneratedLog.parseCSV(try generateWorkloadBytes(o).bytes)
        #expect(records.filter { $0["event"] == "arrive" }.count == 500)
        #expect(Set(records.map { $0["centre"] }) == ["C01"])
    }

    @Test("every clean call is valid: one arrive, one terminal, answer iff end, times in order")
    func callsAreValid() {
        let order = ["arrive": 0, "answer": 1, "transfer": 2, "abandon": 3, "blocked": 3, "end": 3]
        for call in GeneratedLog.calls(csvRecords) {
            let kinds = call.map { $0["event"] }
            #expect(kinds.filter { $0 == "arrive" }.count == 1, "\(call[0]["call"])")
            #expect(kinds.filter { ["abandon", "blocked", "end"].contains($0) }.count == 1, "\(call[0]["call"])")
            #expect(kinds.contains("answer") == kinds.contains("end"), "\(call[0]["call"])")
            #expect(kinds.filter { $0 == "answer" }.count <= 1)
            // Sorted by time, ties in lifecycle order, the lifecycle never goes backwards.
            let ranks = call.sorted { a, b in
                a.millis != b.millis ? a.millis < b.millis : order[a["event"]]! < order[b["event"]]!
            }.map { order[$0["event"]]! }
            #expect(ranks == ranks.sorted(), "\(call[0]["call"]): \(kinds)")
        }
    }
}

@Suite("Generator: the traffic looks real")
struct GeneratorTrafficTests {
    private var calls: [[GeneratedLog.Record]] { GeneratedLog.calls(csvRecords) }

    @Test("about 8% of callers are unidentified, in several spellings")
    func withheld() {
        let arrivals = csvRecords.filter { $0["event"] == "arrive" }
        let hidden = arrivals.filter { GeneratedLog.isUnidentified($0["caller"]) }
        let share = Double(hidden.count) / Double(arrivals.count)
        #expect(share > 0.06 && share < 0.10)
        #expect(Set(hidden.map { $0["caller"] }).count >= 4)
    }

    @Test("some transfers go to another service, some stay within the service")
    func transfers() {
        var other = 0
        var same = 0
        for call in calls {
            let arrival = call.first { $0["event"] == "arrive" }!["service"]
            for t in call where t["event"] == "transfer" {
                if t["service"] == arrival { same += 1 } else { other += 1 }
            }
        }
        #expect(other > 100 && same > 100)
    }

    @Test("outcomes include pending, unresolved and resolved (explicit and absent)")
    func outcomes() {
        let ends = csvRecords.filter { $0["event"] == "end" }
        for o in ["pending", "unresolved", "resolved", ""] { #expect(ends.contains { $0["outcome"] == o }, "\(o)") }
        #expect(csvRecords.contains { $0["reason"] == "progress_chase" })
        #expect(csvRecords.contains { $0["reason"] == "misdirected" })
        #expect(csvRecords.contains { $0["reason"] == "clarification" })
    }

    @Test("some abandons are short (< 5 s), blocked calls end within the next second")
    func abandonsAndBlocks() {
        var short = 0
        var long = 0
        for call in calls {
            let t = call[0].millis
            if let a = call.first(where: { $0["event"] == "abandon" }) {
                if a.millis - t < 5000 { short += 1 } else { long += 1 }
            }
            if let b = call.first(where: { $0["event"] == "blocked" }) {
                #expect(b.millis / 1000 - t / 1000 <= 1)
            }
        }
        #expect(short > 20 && long > short)
    }

    @Test("some calls cross midnight")
    func midnight() {
        let crossing = calls.filter { call in
            call.first!.millis / 86_400_000 != call.last!.millis / 86_400_000
        }
        #expect(!crossing.isEmpty)
        #expect(crossing.count == cleanCSV.summary.midnightCrossings)
    }

    @Test("call ids are unique per centre except rare reuse more than 6 hours later")
    func callIds() {
        var arrivesByKey: [String: [Int64]] = [:]
        for r in csvRecords where r["event"] == "arrive" { arrivesByKey[r["centre"] + r["call"], default: []].append(r.millis) }
        let reused = arrivesByKey.values.filter { $0.count > 1 }
        #expect(!reused.isEmpty)
        for times in reused {
            let sorted = times.sorted()
            for (a, b) in zip(sorted, sorted.dropFirst()) { #expect(b - a > 6 * 3_600_000) }
        }
    }

    @Test("repeat callers: redials within the hour after failed calls, and chases days later")
    func followUps() {
        // (centre, caller) → arrivals, for identified callers.
        var byCaller: [String: [(t: Int64, failed: Bool, pending: Bool)]] = [:]
        for call in calls {
            let arrive = call.first { $0["event"] == "arrive" }!
            guard !GeneratedLog.isUnidentified(arrive["caller"]) else { continue }
            let failed = call.contains { $0["event"] == "abandon" || $0["event"] == "blocked" }
            let pending = call.contains { $0["outcome"] == "pending" }
            byCaller[arrive["centre"] + "/" + arrive["caller"], default: []].append((arrive.millis, failed, pending))
        }
        var redials = 0
        var chases = 0
        for list in byCaller.values {
            let sorted = list.sorted { $0.t < $1.t }
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                if a.failed && b.t - a.t <= 3_600_000 { redials += 1 }
                if a.pending && b.t - a.t >= 2 * 86_400_000 { chases += 1 }
            }
        }
        #expect(redials > 200)
        #expect(chases > 50)
    }

    @Test("timestamps come as RFC 3339 UTC, +01:00 and epoch milliseconds")
    func timestampForms() {
        let forms = csvRecords.map { r -> Int in
            let ts = r["ts"]
            return ts.hasSuffix("Z") ? 0 : ts.hasSuffix("+01:00") ? 1 : 2
        }
        let utc = forms.filter { $0 == 0 }.count
        #expect(utc > forms.count / 2)
        #expect(forms.contains(1) && forms.contains(2))
    }

    @Test("arrivals peak in the day and on weekdays")
    func diurnal() {
        var byHour = [Int](repeating: 0, count: 24)
        var byWeekday = [Int](repeating: 0, count: 7)
        for r in csvRecords where r["event"] == "arrive" {
            byHour[Int(r.millis / 3_600_000 % 24)] += 1
            byWeekday[Int((r.millis / 86_400_000 + 3) % 7)] += 1
        }
        #expect(byHour[10] > 10 * byHour[3])
        #expect(byHour[14] > byHour[12])  // the early-afternoon peak after the lunchtime dip
        #expect(byWeekday[0] > 2 * byWeekday[6])  // Monday vs Sunday
    }
}

@Suite("Generator: options")
struct GeneratorOptionTests {
    @Test("invalid settings name their flag")
    func validation() {
        let cases: [(GeneratorOptions, String)] = [
            (GeneratorOptions(calls: -1), "--calls"),
            (GeneratorOptions(centres: 0), "--centres"),
            (GeneratorOptions(days: 0), "--days"),
            (GeneratorOptions(servicesPerCentre: 13), "--services-per-centre"),
        ]
        for (o, flag) in cases {
            #expect {
                try o.validate()
            } throws: { error in
                (error as? GeneratorError)?.description.hasPrefix(flag) == true
            }
        }
    }

    @Test("--start chooses the first day")
    func startDay() throws {
        let day = try #require(GeneratorOptions.parseStartDay("2025-12-31"))
        let o = GeneratorOptions(calls: 200, days: 2, startDay: day)
        let records = try GeneratedLog.parseCSV(try generateWorkloadBytes(o).bytes)
        let first = records.map(\.millis).min()!
        #expect(first >= day * 86_400_000)
        #expect(records.filter { $0["event"] == "arrive" }.allSatisfy { $0.millis < (day + 2) * 86_400_000 })
        #expect(GeneratorOptions.parseStartDay("2026-02-30") == nil)
        #expect(GeneratorOptions.parseStartDay("2026-3-2") == nil)
    }

    @Test("more services per centre than the common six")
    func manyServices() throws {
        let o = GeneratorOptions(calls: 3000, centres: 2, servicesPerCentre: 9)
        let records = try GeneratedLog.parseCSV(try generateWorkloadBytes(o).bytes)
        let services = Set(records.filter { $0["event"] == "arrive" }.map { $0["service"] })
        #expect(services.count >= 8)
    }
}
