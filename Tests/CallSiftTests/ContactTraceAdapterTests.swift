import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Amazon Connect contact trace records: hand-worked cases (docs/formats.md has the mapping).
@Suite struct ContactTraceAdapterTests {
    func analyze(_ text: String, name: String = "ctr.json", _ configure: (inout AnalysisSettings) -> Void = { _ in }) throws -> Report {
        var s = AnalysisSettings()
        s.period = .all
        s.minCell = 0
        configure(&s)
        let r = try Scenario.analyze(text, settings: s, name: name)
        #expect(r.accountingHolds)
        return r
    }

    /// One record, as JSON on one line. Times are minutes:seconds after 09:00 on 2026-03-02.
    static func record(
        _ id: String, method: String = "INBOUND", initial: String? = nil, previous: String? = nil,
        next: String? = nil, start: String = "00:00", queue: String? = "benefits", enqueue: String? = nil,
        connected: String? = nil, disconnect: String? = "05:00", update: String? = nil,
        caller: String? = "+447700900001", instance: String = "inst-a", reason: String? = nil
    ) -> String {
        func t(_ mmss: String) -> String { "\"2026-03-02T09:\(mmss)Z\"" }
        var f = [
            "\"ContactId\":\"\(id)\"", "\"InitiationMethod\":\"\(method)\"", "\"Channel\":\"VOICE\"",
            "\"InstanceARN\":\"arn:aws:connect:eu-west-2:111122223333:instance/\(instance)\"",
            "\"InitiationTimestamp\":\(t(start))",
        ]
        if let initial { f.append("\"InitialContactId\":\"\(initial)\"") }
        if let previous { f.append("\"PreviousContactId\":\"\(previous)\"") }
        if let next { f.append("\"NextContactId\":\"\(next)\"") }
        if let queue {
            f.append("\"Queue\":{\"Name\":\"\(queue)\",\"EnqueueTimestamp\":\(t(enqueue ?? start)),\"Duration\":3}")
        } else {
            f.append("\"Queue\":null")
        }
        f.append(connected.map { "\"Agent\":{\"ConnectedToAgentTimestamp\":\(t($0)),\"Username\":\"a\"}" } ?? "\"Agent\":null")
        if let disconnect { f.append("\"DisconnectTimestamp\":\(t(disconnect))") }
        if let reason { f.append("\"DisconnectReason\":\"\(reason)\"") }
        f.append("\"LastUpdateTimestamp\":\(t(update ?? disconnect ?? start))")
        if let caller { f.append("\"CustomerEndpoint\":{\"Address\":\"\(caller)\",\"Type\":\"TELEPHONE_NUMBER\"}") }
        f.append("\"Attributes\":{\"a\":\"{b}\"},\"MediaStreams\":[{\"Type\":\"AUDIO\"}]")
        return "{" + f.joined(separator: ",") + "}"
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// samples/ctr.ndjson, worked by hand (centre = the instance id `inst-a`):
    /// - c-1 (caller 1): queued 09:00:30, answered 09:00:45 (15 s), disconnected 09:05:00.
    /// - c-2 (caller 2): queued 09:01:10, no agent, disconnected 09:02:00: abandoned; it is
    ///   delivered twice (one duplicate).
    /// - c-3 → c-4 (caller 3): queued in benefits 09:02:20, answered 09:02:30 (10 s),
    ///   transferred to pensions at 09:04:00 (c-4, whose customer address is irrelevant),
    ///   last disconnect 09:20:00: one call, handle 1050 s, transferred elsewhere.
    /// - o-1: outbound, skipped. m-1: a supervisor's monitor, skipped.
    /// - c-5 (caller 2 again, 09:30:05): answered after 30 s, handle 565 s: a retry of c-2.
    /// - c-6 (caller 6, 2026-03-10 in pensions): abandons after 3 s (short).
    @Test func sampleFiguresByHand() throws {
        let text = try String(contentsOf: Self.packageRoot.appendingPathComponent("samples/ctr.ndjson"), encoding: .utf8)
        let r = try analyze(text)
        // 10 records; a record stands for one line per event it gives (c-1: arrive, answer,
        // end), so 17 lines: 14 events + 1 duplicate + 2 skipped.
        #expect(r.lines.lines == 17)
        #expect(r.calls.events == 14 && r.duplicates == 1 && r.lines.skipped == 2)
        #expect(r.lines.skipped(.outbound) == 1 && r.lines.skipped(.monitor) == 1)
        #expect(r.calls.contacts == 5 && r.calls.incomplete == 0 && r.calls.conflicting == 0)
        let b = r.total(centre: "inst-a", service: "benefits")
        #expect(b.contacts == 4 && b.identified == 4 && b.handled == 3 && b.abandoned == 1)
        #expect(b.transferred == 1 && b.misdirected == 1 && b.retry == 1 && b.repeats == 0)
        #expect(b.answeredInSL == 2)
        #expect(b.waitMsSum == (15 + 10 + 30) * 1000)
        #expect(b.handleMsSum == (255 + 1050 + 565) * 1000)
        #expect(b.fcrEligible == 3 && b.fcr == 3)
        let p = r.total(centre: "inst-a", service: "pensions")
        #expect(p.contacts == 1 && p.shortAbandoned == 1)
    }

    @Test func arrayLinesAndBackToBackObjectsReadAlike() throws {
        let records = [
            Self.record("a", start: "00:00", enqueue: "00:20", connected: "00:40", disconnect: "03:00"),
            Self.record("b", start: "01:00", connected: nil, disconnect: "01:30", caller: "anonymous"),
            Self.record("c", start: "02:00", connected: "02:10", disconnect: "04:00"),
        ]
        let ndjson = try analyze(records.joined(separator: "\n") + "\n", name: "a.ndjson")
        let array = try analyze("[\n  " + records.joined(separator: ",\n  ") + "\n]\n", name: "b.json")
        let firehose = try analyze(records.joined(), name: "c")
        #expect(ndjson.rows == array.rows && array.rows == firehose.rows)
        #expect(ndjson.lines == array.lines && array.lines == firehose.lines)
        #expect(ndjson.calls.contacts == 3)
        let c = ndjson.total(centre: "inst-a")
        #expect(c.waitMsSum == 20_000 + 10_000)  // queue wait: from EnqueueTimestamp
        #expect(c.identified == 2)
    }

    /// At least once: the greatest LastUpdateTimestamp per ContactId wins, whatever the order.
    @Test func theLatestUpdateWins() throws {
        let older = Self.record("a", connected: nil, disconnect: "02:00", update: "02:10")
        let newer = Self.record("a", connected: "01:00", disconnect: "04:00", update: "06:00")
        for text in [older + "\n" + newer, newer + "\n" + older] {
            let r = try analyze(text + "\n")
            #expect(r.calls.contacts == 1 && r.duplicates == 1)
            #expect(r.total(centre: "inst-a").handled == 1)
        }
    }

    /// A transfer chain is one call however its records arrive, and never a repeat.
    @Test func aChainIsOneCall() throws {
        let head = Self.record("h", next: "l1", connected: "00:30", disconnect: "02:00", update: "02:05")
        let leg1 = Self.record(
            "l1", method: "TRANSFER", initial: "h", previous: "h", next: "l2", start: "02:00",
            queue: "pensions", connected: "02:40", disconnect: "05:00", update: "05:30", caller: "9999")
        let leg2 = Self.record(
            "l2", method: "QUEUE_TRANSFER", initial: "h", previous: "l1", start: "05:00",
            queue: "tax", connected: nil, disconnect: "07:00", update: "07:01", caller: "9999")
        for order in [[head, leg1, leg2], [leg1, head, leg2], [leg2, leg1, head]] {
            let r = try analyze(order.joined(separator: "\n") + "\n")
            #expect(r.calls.contacts == 1)
            let c = r.total(centre: "inst-a")
            #expect(c.contacts == 1 && c.handled == 1 && c.transferred == 1 && c.misdirected == 1 && c.repeats == 0)
            #expect(c.handleMsSum == 390_000)  // 09:00:30 to the last disconnect at 09:07:00
            #expect(r.rows.first?.service == "benefits")
        }
    }

    @Test func outboundCallbackAndMonitorAreSkipped() throws {
        let text =
            [
                Self.record("o", method: "OUTBOUND", queue: nil, connected: "00:05"),
                Self.record("ot", method: "TRANSFER", initial: "o", previous: "o", start: "01:00", connected: "01:10", disconnect: "06:00"),
                Self.record("cb", method: "CALLBACK", connected: "00:10"),
                Self.record("m", method: "MONITOR", queue: nil),
                Self.record("d", method: "DISCONNECT", queue: nil),
                Self.record("x", method: "SOMETHING_NEW"),
                Self.record("ivr", queue: nil, connected: nil),
                Self.record("chat", method: "API", queue: "web", connected: "00:30"),
            ].joined(separator: "\n") + "\n"
        let r = try analyze(text)
        #expect(r.calls.contacts == 0 && r.calls.events == 0)
        let a = r.lines
        #expect(a.skipped(.outbound) == 2 && a.skipped(.callback) == 1 && a.skipped(.monitor) == 1)
        #expect(a.skipped(.system) == 1 && a.skipped(.otherInitiation) == 1 && a.skipped(.notQueued) == 1)
        #expect(a.skipped(.api) == 1)  // API on the VOICE channel; on CHAT it is an inbound chat
        let chat = try analyze(
            Self.record("chat", method: "API", queue: "web", connected: "00:30")
                .replacingOccurrences(of: "\"VOICE\"", with: "\"CHAT\"") + "\n")
        #expect(chat.calls.contacts == 1)
    }

    /// Lateness is judged on the last update time, never on the (older) event times.
    @Test func latenessIsJudgedOnTheLastUpdate() throws {
        // A long call finishing late is not late although its arrival is 40 minutes old.
        let long = Self.record("long", start: "00:00", connected: "00:10", disconnect: "40:00", update: "40:10")
        let short = Self.record("short", start: "39:00", connected: "39:05", disconnect: "39:30", update: "39:40")
        let stale = Self.record("late", start: "10:00", connected: "10:05", disconnect: "11:00", update: "11:00")
        let r = try analyze([long, short, stale].joined(separator: "\n") + "\n")
        #expect(r.calls.contacts == 2 && r.lines.late == 1)
    }

    @Test func updatesLongAfterTheContactAreStale() throws {
        let r = try analyze(Self.record("a", connected: "00:10", disconnect: "05:00", update: "50:00") + "\n") {
            $0.callTimeout = 30 * 60_000
        }
        #expect(r.lines.skipped(.stale) == 1 && r.calls.contacts == 0)
    }

    @Test func badRecordsAreRejectedByReason() throws {
        let text = """
            {"ContactId":"x","InitiationMethod":"INBOUND"
            not json at all
            {"ContactId":"a","InitiationMethod":"INBOUND","InitiationTimestamp":"yesterday","LastUpdateTimestamp":"2026-03-02T09:00:00Z","InstanceARN":"arn:aws:connect:r:1:instance/i"}
            {"ContactId":"a","InitiationMethod":"INBOUND","LastUpdateTimestamp":"2026-03-02T09:00:00Z","InstanceARN":"arn:aws:connect:r:1:instance/i"}
            {"ContactId":"a","InitiationMethod":"INBOUND","InitiationTimestamp":"2026-03-02T09:00:00Z","LastUpdateTimestamp":"2026-03-02T09:00:00Z"}
            {"InitiationMethod":"INBOUND","InitiationTimestamp":"2026-03-02T09:00:00Z","LastUpdateTimestamp":"2026-03-02T09:00:00Z","InstanceARN":"arn:aws:connect:r:1:instance/i"}
            {"ContactId":"a","InitiationTimestamp":"2026-03-02T09:00:00Z","LastUpdateTimestamp":"2026-03-02T09:00:00Z","InstanceARN":"arn:aws:connect:r:1:instance/i"}
            {"ContactId":true,"InitiationMethod":"INBOUND"}

            """
        let r = try analyze(text)
        let a = r.lines
        #expect(a.rejected(.badJSON) == 2)  // the unclosed object and the stray line after it
        #expect(a.rejected(.badTs) == 1 && a.rejected(.missingTs) == 1 && a.rejected(.missingCentre) == 1)
        #expect(a.rejected(.missingCall) == 1 && a.rejected(.missingEvent) == 1 && a.rejected(.badValue) == 1)
    }

    @Test func centreOptionReplacesTheInstance() throws {
        let r = try analyze(Self.record("a", connected: "00:10") + "\n") { $0.centre = "Leeds" }
        #expect(r.rows.first?.centre == "Leeds")
    }

    /// A record without `DisconnectTimestamp` is a snapshot of a contact in progress. Its
    /// call waits for the final record (here 40 minutes later, long past the lateness bound
    /// of 10 minutes, with other contacts finishing in between) instead of being emitted
    /// without an end; the snapshot is then a duplicate of the final record.
    @Test func snapshotOfAContactInProgressWaitsForItsFinalRecord() throws {
        let records = [
            Self.record("c-1", start: "00:00", connected: "00:30", disconnect: nil, update: "01:00"),
            Self.record("x-1", start: "15:00", connected: "15:10", disconnect: "20:00", caller: "+447700900002"),
            Self.record("x-2", start: "25:00", connected: "25:10", disconnect: "30:00", caller: "+447700900003"),
            Self.record("c-1", start: "00:00", connected: "00:30", disconnect: "45:00"),
            Self.record("x-3", start: "50:00", connected: "50:10", disconnect: "55:00", caller: "+447700900004"),
        ]
        let r = try analyze(records.joined(separator: "\n") + "\n")
        #expect(r.calls.contacts == 4 && r.calls.incomplete == 0)
        #expect(r.duplicates == 1 && r.lines.late == 0)
        let b = r.total(centre: "inst-a")
        #expect(b.handled == 4)
        #expect(b.handleMsSum == (44 * 60 + 30 + 3 * (4 * 60 + 50)) * 1000)
    }

    /// A snapshot whose final record never comes: its call is incomplete, at the end of
    /// input and when the call timeout has passed.
    @Test func snapshotWithoutFinalRecordIsIncomplete() throws {
        let snapshot = Self.record("c-1", start: "00:00", connected: "00:30", disconnect: nil, update: "01:00")
        let alone = try analyze(snapshot + "\n")
        #expect(alone.calls.contacts == 0 && alone.calls.incomplete == 1)
        let later = Self.record("x-1", start: "50:00", connected: "50:10", disconnect: "55:00", caller: "+447700900002")
        let timedOut = try analyze(snapshot + "\n" + later + "\n") { $0.callTimeout = 20 * 60_000 }
        #expect(timedOut.calls.contacts == 1 && timedOut.calls.incomplete == 1)
    }

    /// An inbound contact that its flow cut off before any queue ("all our lines are busy")
    /// or that the network dropped is a blocked call under `(ivr)`, so the caller's next
    /// call within the retry window is a retry. One the customer ended may have been
    /// self-service, and is skipped as before.
    @Test func flowDisconnectedContactsAreBlockedCalls() throws {
        for (reason, blocked) in [
            ("CONTACT_FLOW_DISCONNECT", true), ("TELECOM_PROBLEM", true),
            ("CUSTOMER_DISCONNECT", false), ("OTHER", false),
        ] {
            let records = [
                Self.record("c-1", start: "00:00", queue: nil, disconnect: "00:40", reason: reason),
                Self.record("c-2", start: "10:00", connected: "10:20", disconnect: "15:00", reason: "AGENT_DISCONNECT"),
            ]
            let r = try analyze(records.joined(separator: "\n") + "\n")
            let ivr = r.total(centre: "inst-a", service: "(ivr)")
            let benefits = r.total(centre: "inst-a", service: "benefits")
            #expect(ivr.contacts == (blocked ? 1 : 0) && ivr.blocked == (blocked ? 1 : 0) && ivr.identified == ivr.contacts, "\(reason)")
            #expect(benefits.contacts == 1 && benefits.retry == (blocked ? 1 : 0), "\(reason)")
            #expect(r.lines.skipped(.notQueued) == (blocked ? 0 : 1), "\(reason)")
            #expect(r.calls.incomplete == 0 && r.calls.conflicting == 0)
        }
    }
}
