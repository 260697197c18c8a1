import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftFormats
@testable import CallSiftGenerate

/// Generated workloads written out as Genesys Cloud conversation detail records, in the
/// three forms exports take (details-job records one a line, details-job result pages,
/// synchronous query pages), with snapshots of conversations in progress, second copies,
/// outbound and chat conversations, must give the same rows as the canonical CSV of the
/// same calls, reduced to what the form can say (docs/formats.md, "Genesys Cloud
/// conversation records"): a query page carries no attributes, so no outcome or reason,
/// and a call that never queued is under `(ivr)`.
@Suite struct GenesysConversionTests {
    struct Ev {
        var ts: Int64
        var kind: String
        var caller: String
        var service: String
        var outcome: String
        var reason: String
    }

    struct Call {
        var id: String
        var events: [Ev]
        var terminal: Ev { events.last! }
        func first(_ kind: String) -> Ev? { events.first { $0.kind == kind } }
        /// The call's reason as the metrics take it: the last non-empty one.
        var reason: String { events.last { !$0.reason.isEmpty }?.reason ?? "" }
    }

    static let rank = ["arrive": 0, "answer": 1, "transfer": 2, "abandon": 3, "blocked": 3, "end": 3]

    /// The valid calls of a clean generated workload at one centre, with outcomes and
    /// reasons, events in lifecycle order.
    static func generated(calls: Int, seed: UInt64) throws -> [Call] {
        let options = GeneratorOptions(seed: seed, calls: calls, centres: 1, days: 6)
        let text = String(decoding: try generateWorkloadBytes(options).bytes, as: UTF8.self)
        var byKey: [String: Int] = [:]
        var out: [Call] = []
        for line in text.split(separator: "\n").dropFirst() {
            var f: [String] = []
            _ = Array(line.utf8).withUnsafeBytes { CSVRecordParser.split($0) { _, v in f.append(String(decoding: v, as: UTF8.self)) } }
            let ts = Array(f[0].utf8).withUnsafeBytes { Timestamp.parse($0) }!
            if byKey[f[2]] == nil { byKey[f[2]] = out.count; out.append(Call(id: f[2], events: [])) }
            out[byKey[f[2]]!].events.append(Ev(ts: ts, kind: f[3], caller: f[4], service: f[5], outcome: f[6], reason: f[7]))
        }
        for i in out.indices { out[i].events.sort { ($0.ts, rank[$0.kind]!) < ($1.ts, rank[$1.kind]!) } }
        return out.filter { c in
            c.events.first?.kind == "arrive" && c.events.filter { $0.kind == "arrive" }.count == 1
                && c.events.filter { rank[$0.kind] == 3 }.count == 1 && rank[c.events.last!.kind] == 3
                && c.events.filter { $0.kind == "answer" }.count <= 1
        }
    }

    /// The reference: the calls as canonical CSV, reduced to what the form says.
    static func canonicalCSV(_ calls: [Call], attributes: Bool) -> String {
        var lines: [(Int64, Int, String)] = []
        for c in calls {
            let queued = c.terminal.kind != "blocked"
            for e in c.events {
                let service = !queued && !attributes ? GenesysAdapter.neverQueued : e.service
                let isTerminal = rank[e.kind] == 3
                let outcome = attributes && e.kind == "end" ? e.outcome : ""
                let reason = attributes && isTerminal ? c.reason : ""
                lines.append((e.ts, lines.count, "\(e.ts),C01,\(c.id),\(e.kind),\(e.caller),\(service),\(outcome),\(reason)"))
            }
        }
        return "ts,centre,call,event,caller,service,outcome,reason\n"
            + lines.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2).joined(separator: "\n") + "\n"
    }

    /// One conversation a record, in the order an export writes them (by end), with what
    /// else the platform writes: snapshots in progress, copies, outbound and chats. Every
    /// third queue is named only by its id (`queueNames` maps it back).
    static func conversations(_ calls: [Call], attributes: Bool, keys: (String, String, String) = ("outcome", "reason", "service"))
        -> (records: [String], copies: Int, inProgress: Int, outbound: Int, chats: Int)
    {
        func t(_ ms: Int64) -> String { "\"" + Timestamp.format(millis: ms) + "\"" }
        func segment(_ s: Int64, _ e: Int64, _ type: String, queue: String? = nil) -> String {
            "{\"segmentStart\":\(t(s)),\"segmentEnd\":\(t(e)),\"segmentType\":\"\(type)\"\(queue.map { ",\"queueId\":\"\($0)\"" } ?? "")}"
        }
        func participant(_ purpose: String, name: String?, media: String = "voice", ani: String? = nil, attrs: String? = nil, _ segments: [String])
            -> String
        {
            var f = ["\"purpose\":\"\(purpose)\"", "\"participantId\":\"p\""]
            if let name { f.append("\"participantName\":\"\(name)\"") }
            if let attrs, attributes { f.append("\"attributes\":{\(attrs)}") }
            let aniField = ani.map { ",\"ani\":\"\($0)\"" } ?? ""
            f.append(
                "\"sessions\":[{\"mediaType\":\"\(media)\",\"direction\":\"inbound\"\(aniField),\"segments\":[\(segments.joined(separator: ","))],\"metrics\":[{\"name\":\"tSegment\",\"value\":1}]}]"
            )
            return "{" + f.joined(separator: ",") + "}"
        }
        func record(_ id: String, start: Int64, end: Int64?, direction: String = "inbound", _ participants: [String]) -> String {
            let endField = end.map { ",\"conversationEnd\":\(t($0))" } ?? ""
            return
                "{\"conversationId\":\"\(id)\",\"conversationStart\":\(t(start))\(endField),\"originatingDirection\":\"\(direction)\",\"divisionIds\":[\"d\"],\"participants\":[\(participants.joined(separator: ","))]}"
        }
        var out: [(key: Int64, n: Int, text: String)] = []
        var copies = 0, inProgress = 0, outbound = 0, chats = 0
        for (n, c) in calls.enumerated() {
            let arrive = c.events[0]
            let end = c.terminal.ts
            let queued = c.terminal.kind != "blocked"
            let start = queued ? arrive.ts - 20_000 : arrive.ts
            let ani: String? =
                arrive.caller.isEmpty ? nil : n % 5 == 1 ? "sip:\(arrive.caller)@sbc.example.gov.uk;user=phone" : "tel:\(arrive.caller)"
            var attrs: [String] = []
            if c.terminal.kind == "end" && !c.terminal.outcome.isEmpty { attrs.append("\"\(keys.0)\":\"\(c.terminal.outcome)\"") }
            if !c.reason.isEmpty { attrs.append("\"\(keys.1)\":\"\(c.reason)\"") }
            if !queued { attrs.append("\"\(keys.2)\":\"\(arrive.service)\"") }
            attrs.append("\"unrelated\":\"x\"")
            var parts = [
                participant("customer", name: "Caller", ani: ani, attrs: attrs.joined(separator: ","), [segment(start, end, "interact")]),
                participant("ivr", name: "Menu", [segment(start, arrive.ts, "ivr")]),
            ]
            let answer = c.first("answer")?.ts
            var wrapEnd = end
            if queued {
                var visits = [(arrive.ts, arrive.service)]
                for e in c.events where e.kind == "transfer" { visits.append((e.ts, e.service)) }
                for (i, v) in visits.enumerated() {
                    let leave = i + 1 < visits.count ? visits[i + 1].0 : (answer ?? end)
                    let byId = (n + i) % 3 == 0
                    parts.append(
                        participant("acd", name: byId ? nil : v.1, [segment(v.0, max(leave, v.0), "interact", queue: "id-\(v.1)")]))
                }
                if n % 4 == 2 {
                    // An agent rang and did not answer.
                    parts.append(participant("agent", name: "Agent B", [segment(arrive.ts, arrive.ts + 2_000, "alert")]))
                }
                if let answer {
                    wrapEnd = end + 45_000
                    parts.append(
                        participant(
                            "agent", name: "Agent A",
                            [segment(answer - 3_000, answer, "alert"), segment(answer, end, "interact"), segment(end, wrapEnd, "wrapup")]))
                }
            }
            let text = record("conv-\(c.id)", start: start, end: wrapEnd, parts)
            out.append((wrapEnd, out.count, text))
            if n % 6 == 0 {
                out.append((wrapEnd + 1_000, out.count, text))
                copies += 1
            }
            if n % 5 == 0 {
                // A snapshot taken while it was going on, exported before it ended.
                out.append((arrive.ts, out.count, record("conv-\(c.id)", start: start, end: nil, Array(parts.prefix(3)))))
                inProgress += 1
            }
            if n % 7 == 0 {
                let o = [participant("agent", name: "Agent A", [segment(end, end + 60_000, "interact")])]
                out.append((end + 60_000, out.count, record("out-\(c.id)", start: end, end: end + 60_000, direction: "outbound", o)))
                outbound += 1
            }
            if n % 11 == 0 {
                let chat = [
                    participant("customer", name: "Web", media: "chat", [segment(end, end + 90_000, "interact")]),
                    participant("acd", name: arrive.service, media: "chat", [segment(end, end + 5_000, "interact")]),
                ]
                out.append((end + 90_000, out.count, record("chat-\(c.id)", start: end, end: end + 90_000, chat)))
                chats += 1
            }
        }
        return (out.sorted { ($0.key, $0.n) < ($1.key, $1.n) }.map(\.text), copies, inProgress, outbound, chats)
    }

    /// The queue listing that names the queues given by id.
    static func queueListing(_ calls: [Call], in dir: TempDir) throws -> String {
        let services = Set(calls.flatMap { $0.events.map(\.service) }).filter { !$0.isEmpty }.sorted()
        let entities = services.map { "{\"id\":\"id-\($0)\",\"name\":\"\($0)\",\"division\":{\"id\":\"d\"}}" }
        return try ExportAcrossFilesTests.file(
            "{\"entities\":[\(entities.joined(separator: ","))],\"pageSize\":500,\"pageNumber\":1}", named: "queues.json", in: dir)
    }

    /// `records` as result pages of `per` conversations, one file each, in a folder.
    static func pages(_ records: [String], per: Int, sync: Bool, in dir: TempDir) throws -> String {
        let folder = dir.path(sync ? "query" : "job")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var at = 0, page = 0
        while at < records.count {
            let chunk = records[at..<min(at + per, records.count)]
            let tail = sync ? "\"totalHits\":\(records.count)" : "\"cursor\":\"c\(page)\""
            let body = "{\"conversations\":[\n  " + chunk.joined(separator: ",\n  ") + "\n],\n" + tail + "}\n"
            try Data(body.utf8).write(to: URL(fileURLWithPath: folder + String(format: "/page-%04d.json", page)))
            at += per
            page += 1
        }
        return folder
    }

    static func settings(_ queues: String, keys: String? = nil) -> AnalysisSettings {
        var s = AnalysisSettings()
        s.period = .day
        s.minCell = 0
        s.centre = "C01"
        s.formatOptions["queue-names"] = queues
        if let keys { s.formatOptions["attribute-keys"] = keys }
        return s
    }

    static func check(_ r: Report, against reference: Report, _ made: (records: [String], copies: Int, inProgress: Int, outbound: Int, chats: Int)) {
        #expect(r.rows == reference.rows)
        #expect(r.calls == reference.calls)
        #expect(r.calls.incomplete == 0 && r.calls.conflicting == 0)
        #expect(r.accountingHolds)
        #expect(r.lines.skipped(.inProgress) == Int64(made.inProgress))
        #expect(r.lines.skipped(.outbound) == Int64(made.outbound))
        #expect(r.lines.skipped(.otherMedia) == Int64(made.chats))
        #expect(r.lines.duplicates == Int64(made.copies))
        #expect(r.lines.late == 0 && r.lines.rejectedTotal == 0)
    }

    @Test(arguments: [1, 2])
    func detailsJobRecordsAndPagesGiveTheSameRows(threads: Int) throws {
        let calls = try Self.generated(calls: 2500, seed: 23)
        let dir = try TempDir()
        let s = Self.settings(try Self.queueListing(calls, in: dir))
        let reference = try Scenario.analyze(Self.canonicalCSV(calls, attributes: true), settings: s, name: "ref.csv")
        #expect(reference.rows.reduce(0) { $0 + $1.counters.transferred } > 0)
        #expect(reference.rows.reduce(0) { $0 + $1.counters.blocked } > 0)
        #expect(reference.rows.reduce(0) { $0 + $1.counters.progressChase } > 0)
        #expect(reference.rows.reduce(0) { $0 + $1.counters.fcrPending } > 0)
        let made = Self.conversations(calls, attributes: true)
        let lines = try ExportAcrossFilesTests.file(made.records.joined(separator: "\n") + "\n", named: "job.ndjson", in: dir)
        Self.check(try Scenario.analyze(paths: [lines], settings: s, threads: threads), against: reference, made)
        // The same records as result pages of 40, a copy and its original often in two.
        let folder = try Self.pages(made.records, per: 40, sync: false, in: dir)
        let paged = try Scenario.analyze(paths: [folder], settings: s, threads: threads)
        Self.check(paged, against: reference, made)
        #expect(paged.inputFiles.count > 50)
    }

    @Test func queryPagesCarryNoAttributes() throws {
        let calls = try Self.generated(calls: 1500, seed: 29)
        let dir = try TempDir()
        let s = Self.settings(try Self.queueListing(calls, in: dir))
        let reference = try Scenario.analyze(Self.canonicalCSV(calls, attributes: false), settings: s, name: "ref.csv")
        let made = Self.conversations(calls, attributes: false)
        let folder = try Self.pages(made.records, per: 100, sync: true, in: dir)
        Self.check(try Scenario.analyze(paths: [folder], settings: s), against: reference, made)
    }

    @Test func attributeKeysAreConfigurable() throws {
        let calls = try Self.generated(calls: 800, seed: 31)
        let dir = try TempDir()
        let made = Self.conversations(calls, attributes: true, keys: ("wrapOutcome", "callReason", "line"))
        let path = try ExportAcrossFilesTests.file(made.records.joined(separator: "\n") + "\n", named: "job.ndjson", in: dir)
        let queues = try Self.queueListing(calls, in: dir)
        let s = Self.settings(queues, keys: "outcome=wrapOutcome,reason=callReason,service=line")
        let reference = try Scenario.analyze(Self.canonicalCSV(calls, attributes: true), settings: s, name: "ref.csv")
        Self.check(try Scenario.analyze(paths: [path], settings: s), against: reference, made)
        // Read with the default keys, the same records say no outcome or reason.
        let plain = try Scenario.analyze(paths: [path], settings: Self.settings(queues))
        #expect(plain.rows != reference.rows)
    }

    /// Daily runs into a state, a few pages at a time: a conversation's copy in a later
    /// run's pages is still recognised (the adapter's memory is carried in the state).
    @Test func pagesFedAFewFilesAtATime() throws {
        let calls = try Self.generated(calls: 1500, seed: 37)
        let dir = try TempDir()
        let s = Self.settings(try Self.queueListing(calls, in: dir))
        let folder = try Self.pages(Self.conversations(calls, attributes: true).records, per: 30, sync: false, in: dir)
        let files = try Analysis.expand([folder])
        #expect(try ExportAcrossRunsTests.feedAndCompare(files, perRun: 7, settings: s) > 5)
    }
}
