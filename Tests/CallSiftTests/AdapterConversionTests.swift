import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Generated workloads written out as Asterisk queue_log and Amazon Connect contact trace
/// records, as those systems would write them, must give the same rows as the canonical CSV
/// of the same calls, reduced to what the format can express (docs/formats.md):
/// - queue_log: whole seconds; no outcome or reason; no caller id on a refused (blocked) call;
/// - CTR: no outcome or reason; a blocked call is an inbound contact that its flow ended
///   before any queue, so it arrives under the service `(ivr)` at its initiation.
@Suite struct AdapterConversionTests {
    struct Ev {
        var ts: Int64
        var kind: String
        var caller: String
        var service: String
    }

    struct Call {
        var centre: String
        var id: String
        var events: [Ev]
        var terminal: String { events.last?.kind ?? "" }
    }

    static let rank = ["arrive": 0, "answer": 1, "transfer": 2, "abandon": 3, "blocked": 3, "end": 3]

    /// Calls of a clean generated workload, events in lifecycle order.
    static func generated(calls: Int, centres: Int, seed: UInt64 = 7) throws -> [Call] {
        let options = GeneratorOptions(seed: seed, calls: calls, centres: centres, days: 10)
        let text = String(decoding: try generateWorkloadBytes(options).bytes, as: UTF8.self)
        var byKey: [String: Int] = [:]
        var out: [Call] = []
        for line in text.split(separator: "\n").dropFirst() {
            var f: [String] = []
            _ = Array(line.utf8).withUnsafeBytes { CSVRecordParser.split($0) { _, v in f.append(String(decoding: v, as: UTF8.self)) } }
            precondition(f.count == 8, "unexpected generated line \(line)")
            let ts = Array(f[0].utf8).withUnsafeBytes { Timestamp.parse($0) }!
            let key = f[1] + "/" + f[2]
            if byKey[key] == nil { byKey[key] = out.count; out.append(Call(centre: f[1], id: f[2], events: [])) }
            out[byKey[key]!].events.append(Ev(ts: ts, kind: f[3], caller: f[4], service: f[5]))
        }
        for i in out.indices {
            out[i].events.sort { ($0.ts, rank[$0.kind]!) < ($1.ts, rank[$1.kind]!) }
        }
        // Keep the valid calls: one arrive first, one terminal last (the generator writes a
        // few conflicting ones on purpose; neither format could express them faithfully).
        return out.filter { c in
            c.events.first?.kind == "arrive" && c.events.filter { $0.kind == "arrive" }.count == 1
                && (rank[c.terminal] ?? 0) == 3 && c.events.filter { rank[$0.kind] == 3 }.count == 1
                && c.events.filter { $0.kind == "answer" }.count <= 1
        }
    }

    static func canonicalCSV(_ calls: [Call]) -> String {
        var lines: [(Int64, Int, String)] = []
        for c in calls {
            for e in c.events {
                lines.append((e.ts, lines.count, "\(e.ts),\(c.centre),\(c.id),\(e.kind),\(e.caller),\(e.service),,"))
            }
        }
        return "ts,centre,call,event,caller,service,outcome,reason\n"
            + lines.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2).joined(separator: "\n") + "\n"
    }

    func analyze(_ text: String, name: String, centre: String? = nil) throws -> Report {
        var s = AnalysisSettings()
        s.period = .day
        s.minCell = 0
        s.centre = centre
        let r = try Scenario.analyze(text, settings: s, name: name)
        #expect(r.accountingHolds)
        return r
    }

    // MARK: - queue_log

    /// The queue_log Asterisk would write for these calls (one centre per file).
    static func queueLog(_ calls: [Call]) -> (log: String, reference: [Call]) {
        var lines: [(Int64, Int, String)] = []
        var reference: [Call] = []
        for (n, c) in calls.enumerated() {
            var ref = c
            var queue = c.events[0].service
            var answered = false
            func add(_ ts: Int64, _ q: String, _ agent: String, _ rest: String) {
                lines.append((ts / 1000, lines.count, "\(ts / 1000)|\(c.id)|\(q)|\(agent)|\(rest)"))
            }
            for e in c.events {
                switch e.kind {
                case "arrive":
                    if c.terminal == "blocked" { add(e.ts, queue, "NONE", "JOINEMPTY||") } else { add(e.ts, queue, "NONE", "ENTERQUEUE||\(e.caller)|1") }
                case "answer":
                    add(e.ts, queue, "PJSIP/201", "CONNECT|5|1.2|3")
                    answered = true
                case "transfer":
                    if answered {
                        add(e.ts, queue, "PJSIP/201", n % 2 == 0 ? "BLINDTRANSFER|600|from-queue|5|60|1" : "ATTENDEDTRANSFER|BRIDGE|x|5|60|1")
                    } else {
                        add(e.ts, queue, "NONE", "EXITWITHKEY|9|1|1|30")
                    }
                    queue = e.service
                    add(e.ts, queue, "NONE", "ENTERQUEUE||201|1")  // the agent's extension as caller id
                    if answered { add(e.ts, queue, "PJSIP/301", "CONNECT|0|1.3|2") }
                case "end":
                    add(e.ts, queue, "PJSIP/201", n % 2 == 0 ? "COMPLETECALLER|5|60|1" : "COMPLETEAGENT|5|60|1")
                case "abandon":
                    add(e.ts, queue, "NONE", n % 2 == 0 ? "ABANDON|1|1|30" : "EXITWITHTIMEOUT|1|1|30")
                default:  // blocked: the JOINEMPTY line stands for it
                    break
                }
                if n % 7 == 0 { add(e.ts, queue, "PJSIP/202", "RINGNOANSWER|1000") }
            }
            for i in ref.events.indices {
                ref.events[i].ts = ref.events[i].ts / 1000 * 1000
                if c.terminal == "blocked" { ref.events[i].caller = "" }
            }
            reference.append(ref)
        }
        let log = lines.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2).joined(separator: "\n") + "\n"
        return (log, reference)
    }

    @Test func generatedCallsAsQueueLogGiveTheSameRows() throws {
        let calls = try Self.generated(calls: 3000, centres: 1)
        let (log, reference) = Self.queueLog(calls)
        let viaLog = try analyze(log, name: "queue_log", centre: "C01")
        let canonical = try analyze(Self.canonicalCSV(reference), name: "ref.csv")
        #expect(viaLog.calls.contacts == canonical.calls.contacts)
        #expect(viaLog.calls.incomplete == 0 && viaLog.calls.conflicting == 0)
        #expect(viaLog.rows == canonical.rows)
        #expect(viaLog.rows.reduce(0) { $0 + $1.counters.transferred } > 0)
        #expect(viaLog.rows.reduce(0) { $0 + $1.counters.blocked } > 0)
    }

    /// An adapter's input merged with a CSV input of another centre, callers matched across
    /// them (`--scope global`): the same rows as one canonical CSV of everything. This holds
    /// only if the adapter's lateness key and watermark floor are right, since classification
    /// runs in arrival order across both inputs as the watermark allows.
    @Test(arguments: ["queue_log", "ctr"])
    func adapterInputsMergeWithCSVInputs(_ format: String) throws {
        let calls = try Self.generated(calls: 3000, centres: 2, seed: 11)
        let c01 = calls.filter { $0.centre == "C01" }, c02 = calls.filter { $0.centre == "C02" }
        let (adapted, reference) = format == "queue_log" ? Self.queueLog(c01) : Self.contactTraceRecords(c01)
        let dir = try TempDir()
        let adaptedPath = dir.path(format == "queue_log" ? "queue_log" : "ctr.ndjson")
        let otherPath = dir.path("c02.csv")
        let refPath = dir.path("all.csv")
        try Data(adapted.utf8).write(to: URL(fileURLWithPath: adaptedPath))
        try Data(Self.canonicalCSV(c02).utf8).write(to: URL(fileURLWithPath: otherPath))
        try Data(Self.canonicalCSV(reference + c02).utf8).write(to: URL(fileURLWithPath: refPath))
        var s = AnalysisSettings()
        s.minCell = 0
        s.scope = .global
        // A short call timeout makes the watermark's margin small, so an adapter event
        // arriving below it would change the figures.
        s.callTimeout = 45 * 60_000
        s.lateness = 2 * 60_000
        let expected = try Scenario.analyze(paths: [refPath], settings: s)
        if format == "queue_log" { s.centre = "C01" }
        let merged = try Scenario.analyze(paths: [adaptedPath, otherPath], settings: s)
        #expect(merged.accountingHolds)
        #expect(merged.rows == expected.rows)
        #expect(merged.rows.reduce(0) { $0 + $1.counters.repeats } > 0)
    }

    // MARK: - Contact trace records

    /// One CTR per contact: a transfer starts a new contact in the chain. In completion
    /// (last update) order, as Connect streams them. Every fourth call also has a snapshot
    /// of its first contact in progress (no `DisconnectTimestamp`), delivered when it was
    /// answered (or queued); a blocked call is an inbound contact that the flow (or, for
    /// every other one, the network) disconnected before any queue.
    static func contactTraceRecords(_ calls: [Call]) -> (records: String, reference: [Call]) {
        var records: [(Int64, Int, String)] = []
        var reference: [Call] = []
        func t(_ ms: Int64) -> String { "\"" + Timestamp.format(millis: ms) + "\"" }
        func header(_ id: String, _ c: Call) -> [String] {
            [
                "\"AWSContactTraceRecordFormatVersion\":\"2017-03-10\"", "\"ContactId\":\"\(id)\"", "\"Channel\":\"VOICE\"",
                "\"InstanceARN\":\"arn:aws:connect:eu-west-2:111122223333:instance/\(c.centre)\"",
            ]
        }
        func customer(_ c: Call) -> [String] {
            c.events[0].caller.isEmpty ? [] : ["\"CustomerEndpoint\":{\"Address\":\"\(c.events[0].caller)\",\"Type\":\"TELEPHONE_NUMBER\"}"]
        }
        for (n, c) in calls.enumerated() {
            if c.terminal == "blocked" {
                var ivr = c
                for i in ivr.events.indices { ivr.events[i].service = IVRBlocked.service }
                reference.append(ivr)
                let (start, end) = (c.events.first!.ts, c.events.last!.ts)
                var f = header(c.id, c) + customer(c)
                f.append("\"InitiationMethod\":\"INBOUND\",\"InitiationTimestamp\":\(t(start)),\"Queue\":null,\"Agent\":null")
                f.append("\"DisconnectReason\":\"\(n % 2 == 0 ? "CONTACT_FLOW_DISCONNECT" : "TELECOM_PROBLEM")\"")
                f.append("\"DisconnectTimestamp\":\(t(end)),\"LastUpdateTimestamp\":\(t(end + 30_000))")
                records.append((end + 30_000, records.count, "{" + f.joined(separator: ",") + "}"))
                continue
            }
            reference.append(c)
            if n % 4 == 0 {
                let start = c.events[0].ts
                let answer = c.events.first { $0.kind == "answer" }?.ts
                let update = (answer ?? start) + 1_000
                var f = header(c.id, c) + customer(c)
                f.append("\"InitiationMethod\":\"INBOUND\",\"InitiationTimestamp\":\(t(start - 5000))")
                f.append("\"Queue\":{\"Name\":\"\(c.events[0].service)\",\"EnqueueTimestamp\":\(t(start)),\"ARN\":\"q\"}")
                f.append(answer.map { "\"Agent\":{\"ConnectedToAgentTimestamp\":\(t($0)),\"Username\":\"agent\"}" } ?? "\"Agent\":null")
                f.append("\"LastUpdateTimestamp\":\(t(update))")
                records.append((update, records.count, "{" + f.joined(separator: ",") + "}"))
            }
            var legStarts = [0]
            for (i, e) in c.events.enumerated() where e.kind == "transfer" { legStarts.append(i) }
            let answer = c.events.first { $0.kind == "answer" }?.ts
            for (k, s) in legStarts.enumerated() {
                let id = k == 0 ? c.id : "\(c.id)-\(k)"
                let endIndex = k + 1 < legStarts.count ? legStarts[k + 1] : c.events.count - 1
                let start = c.events[s].ts
                let disconnect = c.events[endIndex].ts
                var f = [
                    "\"AWSContactTraceRecordFormatVersion\":\"2017-03-10\"", "\"ContactId\":\"\(id)\"", "\"Channel\":\"VOICE\"",
                    "\"InstanceARN\":\"arn:aws:connect:eu-west-2:111122223333:instance/\(c.centre)\"",
                ]
                if k == 0 {
                    f.append("\"InitiationMethod\":\"INBOUND\",\"InitiationTimestamp\":\(t(start - 5000))")
                    if !c.events[0].caller.isEmpty { f.append("\"CustomerEndpoint\":{\"Address\":\"\(c.events[0].caller)\",\"Type\":\"TELEPHONE_NUMBER\"}") }
                } else {
                    f.append(
                        "\"InitiationMethod\":\"\(answer.map { $0 <= start } == true ? "TRANSFER" : "QUEUE_TRANSFER")\",\"InitiationTimestamp\":\(t(start))")
                    f.append("\"InitialContactId\":\"\(c.id)\",\"PreviousContactId\":\"\(k == 1 ? c.id : "\(c.id)-\(k - 1)")\"")
                    f.append("\"CustomerEndpoint\":{\"Address\":\"+44000\(k)\",\"Type\":\"TELEPHONE_NUMBER\"}")
                }
                if k + 1 < legStarts.count { f.append("\"NextContactId\":\"\(c.id)-\(k + 1)\"") }
                f.append("\"Queue\":{\"Name\":\"\(c.events[s].service)\",\"EnqueueTimestamp\":\(t(start)),\"ARN\":\"q\"}")
                // The agent of this leg: the answer if it fell in it, or (after it) the next agent.
                if let answer, answer <= disconnect {
                    let connected = answer >= start ? answer : start
                    f.append("\"Agent\":{\"ConnectedToAgentTimestamp\":\(t(connected)),\"Username\":\"agent\"}")
                } else {
                    f.append("\"Agent\":null")
                }
                let update = disconnect + 30_000 + Int64(k) * 7_000
                f.append("\"DisconnectTimestamp\":\(t(disconnect)),\"LastUpdateTimestamp\":\(t(update))")
                records.append((update, records.count, "{" + f.joined(separator: ",") + "}"))
            }
        }
        let text = records.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2).joined(separator: "\n") + "\n"
        return (text, reference)
    }

    @Test func generatedCallsAsContactTraceRecordsGiveTheSameRows() throws {
        let calls = try Self.generated(calls: 3000, centres: 2)
        let (records, reference) = Self.contactTraceRecords(calls)
        let viaCTR = try analyze(records, name: "ctr.ndjson")
        let canonical = try analyze(Self.canonicalCSV(reference), name: "ref.csv")
        #expect(viaCTR.calls.contacts == canonical.calls.contacts)
        #expect(viaCTR.calls.incomplete == 0 && viaCTR.calls.conflicting == 0)
        #expect(viaCTR.rows == canonical.rows)
        #expect(viaCTR.rows.reduce(0) { $0 + $1.counters.transferred } > 0)
        #expect(viaCTR.rows.reduce(0) { $0 + $1.counters.blocked } > 0)
        #expect(viaCTR.rows.reduce(0) { $0 + $1.counters.retry } > 0)
        // The snapshots were held and then superseded by their final records.
        #expect(viaCTR.duplicates > 100)
        // The same records delivered twice, and as one JSON array: the same rows again.
        let twice = try analyze(records.split(separator: "\n").flatMap { [$0, $0] }.joined(separator: "\n") + "\n", name: "twice.ndjson")
        #expect(twice.rows == canonical.rows)
        #expect(twice.duplicates == viaCTR.duplicates + Int64(records.split(separator: "\n").count))
    }
}

/// The watermark contract of an adapter's input, checked directly: once `InputCursor`
/// announces a watermark, no event it hands on later is below it, however long an adapter
/// holds events (docs/formats.md, "What an adapter may do").
@Suite struct AdapterWatermarkTests {
    static func violations(_ text: String, name: String, _ configure: (inout AnalysisSettings) -> Void = { _ in }) throws -> (Int, Int) {
        let dir = try TempDir()
        let path = dir.path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        var s = AnalysisSettings()
        s.centre = "C1"
        configure(&s)
        let builder = EventBuilder(
            centres: Interner(), services: Interner(), reasons: Interner(),
            longCallIDs: LongCallIDs(), pseudonymiser: Pseudonymiser(k0: 1, k1: 2))
        let cursor = InputCursor(
            parser: InputParser(path: path, index: 0, settings: s, builder: builder, rejects: nil),
            lateness: s.lateness)
        var announced = Int64.min, bad = 0, taken = 0
        while true {
            cursor.refill()
            guard cursor.hasPending else { break }
            announced = max(announced, cursor.watermark)
            // One event at a time: a run up to the least time is just the next event.
            cursor.takeRun(upTo: .min) { run in
                taken += run.count
                for e in run where e.ts < announced { bad += 1 }
            }
            announced = max(announced, cursor.watermark)
        }
        return (bad, taken)
    }

    /// A five-hour contact among short ones, five a minute (about 40 chunks of 128 KiB,
    /// each spanning about an hour): its record comes at its completion, and its arrival
    /// five hours earlier is released long after the events around it in the file.
    @Test func contactTraceRecordsNeverGoBelowTheWatermark() throws {
        let t0: Int64 = 1_772_442_000_000, minute: Int64 = 60_000, step: Int64 = 12_000
        func record(_ id: String, start: Int64, connected: Int64, end: Int64) -> String {
            "{\"ContactId\":\"\(id)\",\"InitiationMethod\":\"INBOUND\",\"InstanceARN\":\"arn:aws:connect:r:1:instance/i\","
                + "\"InitiationTimestamp\":\(start),\"Queue\":{\"Name\":\"q\",\"EnqueueTimestamp\":\(start)},"
                + "\"Agent\":{\"ConnectedToAgentTimestamp\":\(connected)},\"DisconnectTimestamp\":\(end),\"LastUpdateTimestamp\":\(end),"
                + "\"Attributes\":{\"padding\":\"\(String(repeating: "x", count: 200))\"}}"
        }
        var lines: [String] = []
        for i in 0..<10000 {
            let at = t0 + Int64(i) * step
            lines.append(record("s\(i)", start: at, connected: at + minute, end: at + 2 * minute))
            if i == 9000 {  // completes with the others of its minute: began five hours before
                lines.append(record("long", start: at + 2 * minute - 300 * minute, connected: at, end: at + 2 * minute))
            }
        }
        let (bad, taken) = try Self.violations(lines.joined(separator: "\n") + "\n", name: "ctr.ndjson")
        #expect(taken == 10001 * 3)
        #expect(bad == 0)
    }

    /// A caller who times out of a queue is held (they may enter another) until the call's
    /// window closes, two days of lines (four chunks) later.
    @Test func queueLogNeverGoesBelowTheWatermark() throws {
        var lines = ["1772442000|held|q1|NONE|ENTERQUEUE||0700|1", "1772442030|held|q1|NONE|EXITWITHTIMEOUT|1|1|30"]
        for i in 0..<4000 {
            let at = 1772442060 + i * 60
            lines.append("\(at)|c\(i)|q1|NONE|ENTERQUEUE||07\(i)|1")
            lines.append("\(at + 5)|c\(i)|q1|PJSIP/agent-one|CONNECT|5|1772442060.123456|1")
            lines.append("\(at + 50)|c\(i)|q1|PJSIP/agent-one|COMPLETECALLER|5|45|1")
        }
        let (bad, taken) = try Self.violations(lines.joined(separator: "\n") + "\n", name: "queue_log") { $0.callTimeout = 48 * 3_600_000 }
        #expect(taken == 2 + 4000 * 3)
        #expect(bad == 0)
    }
}

/// A platform's export cut into many files is one stream (docs/metrics.md, "Streams across
/// files"): contact trace records cut into small files in delivery order, as Firehose
/// delivers them, and a queue_log rotated in the middle of calls, give the rows and
/// accounting of the same records as one file, at any thread count.
@Suite struct ExportAcrossFilesTests {
    /// `text`'s lines cut into files of `per` lines, written into a new folder as `name(i)`.
    static func cut(_ text: String, per: Int, in dir: TempDir, _ name: (Int, Int) -> String) throws -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let folder = dir.path("export")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var i = 0
        var at = lines.startIndex
        let count = (lines.count + per - 1) / per
        while at < lines.endIndex {
            let end = min(at + per, lines.endIndex)
            let body = lines[at..<end].joined(separator: "\n") + "\n"
            try Data(body.utf8).write(to: URL(fileURLWithPath: folder + "/" + name(i, count)))
            i += 1
            at = end
        }
        return folder
    }

    /// `text` written as the file `name` in `dir`; its path.
    static func file(_ text: String, named name: String, in dir: TempDir) throws -> String {
        let path = dir.path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func settings(_ configure: (inout AnalysisSettings) -> Void = { _ in }) -> AnalysisSettings {
        var s = AnalysisSettings()
        s.period = .day
        s.minCell = 0
        configure(&s)
        return s
    }

    static func same(_ a: Report, _ b: Report) {
        #expect(a.rows == b.rows)
        #expect(a.calls == b.calls)
        #expect(a.lines == b.lines)
        #expect(a.accountingHolds && b.accountingHolds)
    }

    @Test(arguments: [1, 2])
    func contactTraceRecordsCutIntoSmallFiles(threads: Int) throws {
        let calls = try AdapterConversionTests.generated(calls: 3000, centres: 2, seed: 5)
        let (records, _) = AdapterConversionTests.contactTraceRecords(calls)
        let dir = try TempDir()
        let whole = try Self.file(records, named: "all.ndjson", in: dir)
        let s = Self.settings()
        let one = try Scenario.analyze(paths: [whole], settings: s, threads: threads)
        #expect(one.calls.conflicting == 0 && one.calls.incomplete == 0)
        // Files of 37 records: many transfer chains, and records with their re-deliveries
        // (the snapshots of contacts in progress), fall in two files.
        let folder = try Self.cut(records, per: 37, in: dir) { i, _ in String(format: "ctr-%05d.ndjson", i) }
        let cut = try Scenario.analyze(paths: [folder], settings: s, threads: threads)
        Self.same(cut, one)
        #expect(cut.inputFiles.count > 100)
        #expect(cut.inputFiles.reduce(0) { $0 + $1.lines } == cut.lines.lines)
    }

    /// A queue_log rotated (logrotate's numbered files, the oldest with the highest
    /// number) between lines of calls still in progress.
    @Test(arguments: [1, 2])
    func queueLogRotatedMidCall(threads: Int) throws {
        let calls = try AdapterConversionTests.generated(calls: 2000, centres: 1, seed: 9)
        let (log, _) = AdapterConversionTests.queueLog(calls)
        let dir = try TempDir()
        let whole = try Self.file(log, named: "queue_log", in: dir)
        let s = Self.settings { $0.centre = "C01" }
        let one = try Scenario.analyze(paths: [whole], settings: s, threads: threads)
        #expect(one.calls.conflicting == 0 && one.calls.incomplete == 0)
        let lines = log.split(separator: "\n").count
        let folder = try Self.cut(log, per: lines / 5 + 1, in: dir) { i, n in i == n - 1 ? "queue_log" : "queue_log.\(n - 1 - i)" }
        let cut = try Scenario.analyze(paths: [folder], settings: s, threads: threads)
        Self.same(cut, one)
        #expect(cut.inputFiles.map { ($0.path as NSString).lastPathComponent } == ["queue_log.4", "queue_log.3", "queue_log.2", "queue_log.1", "queue_log"])
    }

    /// Two files over the same hours (every other record in each, as two delivery streams
    /// of one instance would write them): the second goes back to the start of the first,
    /// which its own lateness allows, so the chain's watermark must wait for it from the
    /// start. The figures of the records as one file, with a short call timeout that makes
    /// any event below the watermark change them.
    @Test(arguments: [1, 2])
    func aLaterFileMayGoBackInTime(threads: Int) throws {
        let calls = try AdapterConversionTests.generated(calls: 2000, centres: 1, seed: 13)
        let (records, _) = AdapterConversionTests.contactTraceRecords(calls)
        let dir = try TempDir()
        let whole = try Self.file(records, named: "all.ndjson", in: dir)
        let lines = records.split(separator: "\n")
        let folder = dir.path("export")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for half in 0..<2 {
            let mine = lines.enumerated().filter { $0.offset % 2 == half }.map(\.element)
            try Data((mine.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/stream-\(half).ndjson"))
        }
        let s = Self.settings {
            $0.callTimeout = 45 * 60_000
            $0.lateness = 2 * 60_000
        }
        let one = try Scenario.analyze(paths: [whole], settings: s, threads: threads)
        let two = try Scenario.analyze(paths: [folder], settings: s, threads: threads)
        Self.same(two, one)
        #expect(one.rows.reduce(0) { $0 + $1.counters.retry } > 0)
    }

    /// A transfer chain whose middle leg is stale (a leg longer than a call) and whose last
    /// leg comes a day after its head, a file before the last: the head is released long
    /// before, as in one file, so the last leg is a call of its own in both. (The files
    /// still to come hold back only what their own first order keys can reach, which
    /// their dry runs read.)
    @Test func aChainReleasesWhatTheNextFileCannotReach() throws {
        let t0: Int64 = 1_772_442_000_000, minute: Int64 = 60_000, hour = 60 * minute
        func record(
            _ id: String, method: String = "INBOUND", initial: String? = nil, previous: String? = nil, next: String? = nil,
            start: Int64, end: Int64
        ) -> (Int64, String) {
            var f = [
                "\"ContactId\":\"\(id)\"", "\"InitiationMethod\":\"\(method)\"",
                "\"InstanceARN\":\"arn:aws:connect:r:1:instance/i\"", "\"InitiationTimestamp\":\(start)",
                "\"Queue\":{\"Name\":\"q\",\"EnqueueTimestamp\":\(start)}", "\"Agent\":{\"ConnectedToAgentTimestamp\":\(start + minute)}",
                "\"DisconnectTimestamp\":\(end)", "\"LastUpdateTimestamp\":\(end)",
                "\"CustomerEndpoint\":{\"Address\":\"+4477009\(id.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF)\"}",
            ]
            if let initial { f.append("\"InitialContactId\":\"\(initial)\"") }
            if let previous { f.append("\"PreviousContactId\":\"\(previous)\"") }
            if let next { f.append("\"NextContactId\":\"\(next)\"") }
            return (end, "{" + f.joined(separator: ",") + "}")
        }
        var records = [
            record("h", next: "h-1", start: t0, end: t0 + 3 * minute),
            record("h-1", method: "TRANSFER", initial: "h", previous: "h", next: "h-2", start: t0 + 3 * minute, end: t0 + 26 * hour),
            record("h-2", method: "TRANSFER", initial: "h", previous: "h-1", start: t0 + 26 * hour, end: t0 + 26 * hour + 5 * minute),
        ]
        for i in 0..<(27 * 12) { records.append(record("f\(i)", start: t0 + Int64(i) * 5 * minute, end: t0 + Int64(i) * 5 * minute + 2 * minute)) }
        records.sort { $0.0 < $1.0 }
        let lines = records.map(\.1)
        let dir = try TempDir()
        let whole = dir.path("all.ndjson")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: whole))
        // The next file begins after the last leg: the chain's first file holds all of it.
        let cutAt = try #require(lines.firstIndex { $0.contains("\"h-2\"") }) + 3
        let folder = dir.path("export")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data((lines[..<cutAt].joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/a.ndjson"))
        try Data((lines[cutAt...].joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/b.ndjson"))
        let s = Self.settings()
        let one = try Scenario.analyze(paths: [whole], settings: s)
        let two = try Scenario.analyze(paths: [folder], settings: s)
        Self.same(two, one)
        #expect(one.lines.skipped(.stale) == 1)
    }

    /// Records cut into files and merged with a CSV input of another centre, callers
    /// matched across them under a short call timeout: a chain's watermark holds for
    /// every file still to come.
    @Test func aChainMergesWithOtherInputs() throws {
        let calls = try AdapterConversionTests.generated(calls: 3000, centres: 2, seed: 11)
        let c01 = calls.filter { $0.centre == "C01" }, c02 = calls.filter { $0.centre == "C02" }
        let (records, reference) = AdapterConversionTests.contactTraceRecords(c01)
        let dir = try TempDir()
        let folder = try Self.cut(records, per: 23, in: dir) { i, _ in String(format: "ctr-%05d.ndjson", i) }
        let other = dir.path("c02.csv"), all = dir.path("all.csv")
        try Data(AdapterConversionTests.canonicalCSV(c02).utf8).write(to: URL(fileURLWithPath: other))
        try Data(AdapterConversionTests.canonicalCSV(reference + c02).utf8).write(to: URL(fileURLWithPath: all))
        let s = Self.settings {
            $0.scope = .global
            $0.callTimeout = 45 * 60_000
            $0.lateness = 2 * 60_000
        }
        let expected = try Scenario.analyze(paths: [all], settings: s)
        let merged = try Scenario.analyze(paths: [folder, other], settings: s)
        #expect(merged.rows == expected.rows)
        #expect(merged.rows.reduce(0) { $0 + $1.counters.repeats } > 0)
    }
}

/// With durable state, an adapter's pending chains, open calls and records seen are
/// carried from one daily run to the next (docs/formats.md, "One export across many
/// files"): an export fed a few files at a time reports, after every run, what one run over
/// the files so far reports, and the state alone then reports the same.
@Suite struct ExportAcrossRunsTests {
    static func feedAndCompare(_ files: [String], perRun: Int, settings s: AnalysisSettings) throws -> Int {
        let dir = try TempDir()
        let state = dir.path("state")
        var compared = 0
        var at = 0
        while at < files.count {
            let run = Array(files[at..<min(at + perRun, files.count)])
            at += run.count
            let daily = try DailyRun.run(state: try StateStore(path: state), settings: s, inputs: run, pseudonymiser: DurableStateTests.key)
            #expect(daily.errors.isEmpty)
            let one = try Analysis(settings: s, inputs: Array(files[..<at]), pseudonymiser: DurableStateTests.key).run().report
            #expect(DurableStateTests.figures(daily.report) == DurableStateTests.figures(one), "after \(at) files")
            #expect(daily.report.accountingHolds)
            compared += 1
        }
        let alone = try DailyRun.run(state: try StateStore(path: state), settings: s, inputs: [], pseudonymiser: DurableStateTests.key)
        let one = try Analysis(settings: s, inputs: files, pseudonymiser: DurableStateTests.key).run().report
        #expect(DurableStateTests.figures(alone.report) == DurableStateTests.figures(one))
        return compared
    }

    @Test func contactTraceRecordsFedAFewFilesAtATime() throws {
        let calls = try AdapterConversionTests.generated(calls: 3000, centres: 2, seed: 17)
        let (records, _) = AdapterConversionTests.contactTraceRecords(calls)
        let dir = try TempDir()
        let folder = try ExportAcrossFilesTests.cut(records, per: 41, in: dir) { i, _ in String(format: "ctr-%05d.ndjson", i) }
        let files = try Analysis.expand([folder])
        var s = AnalysisSettings()
        s.minCell = 0
        #expect(try Self.feedAndCompare(files, perRun: 9, settings: s) > 8)
    }

    @Test func queueLogRotatedAndFedFileByFile() throws {
        let calls = try AdapterConversionTests.generated(calls: 2000, centres: 1, seed: 19)
        let (log, _) = AdapterConversionTests.queueLog(calls)
        let dir = try TempDir()
        let lines = log.split(separator: "\n").count
        let folder = try ExportAcrossFilesTests.cut(log, per: lines / 6 + 1, in: dir) { i, n in
            i == n - 1 ? "queue_log" : "queue_log.\(n - 1 - i)"
        }
        let files = try Analysis.expand([folder])
        var s = AnalysisSettings()
        s.minCell = 0
        s.centre = "C01"
        #expect(try Self.feedAndCompare(files, perRun: 1, settings: s) == 6)
    }
}
