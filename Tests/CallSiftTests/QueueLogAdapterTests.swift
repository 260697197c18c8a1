import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Asterisk queue_log: hand-worked cases (docs/formats.md has the mapping).
@Suite struct QueueLogAdapterTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func analyze(_ text: String, name: String = "queue_log", _ configure: (inout AnalysisSettings) -> Void = { _ in }) throws -> Report {
        var s = AnalysisSettings()
        s.period = .all
        s.minCell = 0
        s.centre = "C1"
        configure(&s)
        let r = try Scenario.analyze(text, settings: s, name: name)
        #expect(r.accountingHolds)
        return r
    }

    /// samples/queue_log, worked by hand. t0 = 1772442000 = 2026-03-02T09:00:00Z.
    /// - .1 (caller 0001): queued 09:01:00, answered after 15 s, caller hangs up 300 s later.
    /// - .3 (0002): abandons after 30 s.
    /// - .4 (0003): answered after 10 s in benefits, blind-transferred to pensions at 09:04:20
    ///   (the TRANSFER and the re-entry at the same second: one transfer, one duplicate; the
    ///   re-entry's caller id 201 is the agent's and ignored), answered again there (skipped:
    ///   `reanswer`), the agent hangs up at 09:09:40: handle = 370 s.
    /// - .7 (0004): times out of benefits after 30 s and overflows into pensions (the exit
    ///   becomes a transfer to pensions; the re-entry a second one), answered at 09:05:41
    ///   (wait 41 s: outside the 20 s service level), ends 09:06:40: handle 59 s.
    /// - .9: JOINEMPTY: arrives and is blocked; queue_log gives no caller id there.
    /// - .10 (0001 again, 09:08:20): answered after 5 s (CONNECT delivered twice), the agent
    ///   hangs up at 09:10:00: handle 95 s; a repeat of .1.
    /// - .12 (0005), eight days later in pensions: abandons after 3 s (short).
    @Test func sampleFiguresByHand() throws {
        let text = try String(contentsOf: Self.packageRoot.appendingPathComponent("samples/queue_log"), encoding: .utf8)
        let r = try analyze(text)
        let a = r.lines
        #expect(a.lines == 28)  // 27 lines; JOINEMPTY stands for two events (arrive, blocked)
        #expect(r.calls.events == 21)
        #expect(r.duplicates == 2)  // .4's re-entry (same second as the transfer), .10's CONNECT
        #expect(a.skipped == 5)
        #expect(a.skipped(.queueAdmin) == 1 && a.skipped(.agent) == 1 && a.skipped(.ring) == 1)
        #expect(a.skipped(.pause) == 1 && a.skipped(.reanswer) == 1)
        #expect(r.calls.contacts == 7 && r.calls.incomplete == 0 && r.calls.conflicting == 0)
        let b = r.total(centre: "C1", service: "benefits")
        #expect(b.contacts == 6)
        #expect(b.identified == 5)
        #expect(b.handled == 4)
        #expect(b.abandoned == 1 && b.blocked == 1)
        #expect(b.transferred == 2 && b.misdirected == 2)
        #expect(b.answeredInSL == 3)
        #expect(b.waitMsSum == (15 + 10 + 41 + 5) * 1000)
        #expect(b.handleMsSum == (300 + 370 + 59 + 95) * 1000)
        #expect(b.repeats == 1)
        #expect(b.fcrEligible == 4 && b.fcr == 3)
        let p = r.total(centre: "C1", service: "pensions")
        #expect(p.contacts == 1 && p.abandoned == 1 && p.shortAbandoned == 1)
    }

    @Test func databaseExportFormReadsLikeTheFile() throws {
        let file = """
            1772442000|1.1|q1|NONE|ENTERQUEUE||0700|1
            1772442020|1.1|q1|Agent/1|CONNECT|20|1.2|3
            1772442240|1.1|q1|Agent/1|COMPLETEAGENT|20|220|1
            1772442060|1.3|q1|NONE|FULL|||
            1772442120|1.4|q1|NONE|ENTERQUEUE||anonymous|1
            1772442180|1.4|q1|NONE|EXITWITHKEY|5|1|1|60

            """
        // Local times in --tz Europe/London (UTC+0 in March before the 29th), one with an
        // offset, one in epoch seconds; `id` and unknown columns are ignored.
        let export = """
            id,time,callid,queuename,agent,event,data1,data2,data3,data4,data5
            1,2026-03-02 09:00:00,1.1,q1,NONE,ENTERQUEUE,,0700,1,,
            2,2026-03-02 09:00:20.000,1.1,q1,Agent/1,CONNECT,20,1.2,3,,
            3,2026-03-02 10:04:00+01,1.1,q1,Agent/1,COMPLETEAGENT,20,220,1,,
            4,1772442060,1.3,q1,NONE,FULL,,,,,
            5,2026-03-02 09:02:00,1.4,q1,NONE,ENTERQUEUE,,anonymous,1,,
            6,2026-03-02 09:03:00,1.4,q1,NONE,EXITWITHKEY,5,1,1,60,

            """
        let a = try analyze(file) { $0.timeZone = "Europe/London" }
        let b = try analyze(export, name: "export.csv") { $0.timeZone = "Europe/London" }
        #expect(a.rows == b.rows)
        #expect(a.calls == b.calls)
        #expect(a.calls.contacts == 3)
        let c = a.total()
        #expect(c.handled == 1 && c.blocked == 1 && c.abandoned == 1 && c.identified == 1)
        #expect(c.handleMsSum == 220_000)
    }

    @Test func exportWithOneDataColumn() throws {
        let text = """
            time,callid,queuename,agent,event,data
            2026-03-02 09:00:00,1.1,q1,NONE,ENTERQUEUE,|0700|1
            2026-03-02 09:00:09,1.1,q1,NONE,ABANDON,1|1|9

            """
        let r = try analyze(text, name: "export.csv")
        #expect(r.calls.contacts == 1 && r.total().abandoned == 1 && r.total().identified == 1)
    }

    /// An unquoted export line is split where it lies, a quoted one through the CSV
    /// parser (`ExportColumns.splitInPlace`, `ExportHeader.split`): every field quoted, or a quote in
    /// one line only, reads as the same lines unquoted, with data1...data5 columns or one
    /// `data` column; and a line with a column too many or too few is refused either way.
    @Test func quotedAndUnquotedExportLinesReadAlike() throws {
        let rows = [
            ["2026-03-02 09:00:00", "1.1", "q1", "NONE", "ENTERQUEUE", "", "0700", "1", "", ""],
            ["2026-03-02 09:00:20", "1.1", "q1", "Agent/1", "CONNECT", "20", "1.2", "3", "", ""],
            ["2026-03-02 09:04:00", "1.1", "q1", "Agent/1", "COMPLETEAGENT", "20", "220", "1", "", ""],
            ["2026-03-02 09:02:00", "1.4", "q1", "NONE", "ENTERQUEUE", "", "0701", "1", "", ""],
            ["2026-03-02 09:02:30", "1.4", "q1", "NONE", "ABANDON", "1", "1", "30", "", ""],
        ]
        let header = "time,callid,queuename,agent,event,data1,data2,data3,data4,data5\n"
        let combinedHeader = "time,callid,queuename,agent,event,data\n"
        func text(_ quote: (Int) -> Bool, combined: Bool, extra: Int? = nil) -> String {
            var out = combined ? combinedHeader : header
            for (i, row) in rows.enumerated() {
                var fields = combined ? Array(row[0..<5]) + [row[5...].joined(separator: "|")] : row
                if i == extra { fields.append("x") }
                out += fields.map { quote(i) ? "\"\($0)\"" : $0 }.joined(separator: ",") + "\n"
            }
            return out
        }
        for combined in [false, true] {
            let plain = try analyze(text({ _ in false }, combined: combined), name: "export.csv")
            #expect(plain.calls.contacts == 2 && plain.total().handled == 1 && plain.total().abandoned == 1)
            #expect(plain.total().identified == 2 && plain.total().handleMsSum == 220_000)
            for quote in [{ (_: Int) in true }, { $0 == 1 }, { $0 != 1 }] {
                let quoted = try analyze(text(quote, combined: combined), name: "export.csv")
                #expect(quoted.rows == plain.rows && quoted.calls == plain.calls && quoted.lines == plain.lines)
                // Line 3 (the answer) with one field too many: refused, quoted or not.
                let long = try analyze(text(quote, combined: combined, extra: 1), name: "export.csv")
                #expect(long.lines.rejected(.fieldCount) == 1)
                let plainLong = try analyze(text({ _ in false }, combined: combined, extra: 1), name: "export.csv")
                #expect(long.rows == plainLong.rows && long.lines == plainLong.lines)
            }
        }
    }

    /// Re-entry keeps the call: a transferred caller is never a new contact or a repeat,
    /// whatever the re-entry's caller id says.
    @Test func reentryIsATransferNotANewContact() throws {
        let text = """
            1772442000|9.1|q1|NONE|ENTERQUEUE||0700|1
            1772442010|9.1|q1|A/1|CONNECT|10|x|1
            1772442100|9.1|q1|A/1|ATTENDEDTRANSFER|BRIDGE|x|10|90|1
            1772442130|9.1|q2|NONE|ENTERQUEUE||2001|1
            1772442140|9.1|q2|A/2|CONNECT|10|y|1
            1772442400|9.1|q2|A/2|COMPLETECALLER|10|260|1

            """
        let r = try analyze(text)
        #expect(r.calls.contacts == 1)
        let c = r.total()
        #expect(c.transferred == 1 && c.misdirected == 1 && c.repeats == 0)
        #expect(c.handleMsSum == 390_000)  // from the first answer to the end
    }

    /// Several unanswered exits across queues end in one terminal: never conflicting.
    @Test func exitsAcrossQueuesEndOnce() throws {
        let text = """
            1772442000|9.2|q1|NONE|ENTERQUEUE||0700|1
            1772442030|9.2|q1|NONE|EXITWITHTIMEOUT|1|1|30
            1772442030|9.2|q2|NONE|ENTERQUEUE||0700|1
            1772442090|9.2|q2|NONE|EXITEMPTY|1|1|60
            1772442091|9.2|q3|NONE|JOINEMPTY||
            1772442100|9.3|q1|NONE|ENTERQUEUE||0701|1
            1772442110|9.3|q1|NONE|EXITWITHKEY|1|1|1|10

            """
        let r = try analyze(text)
        #expect(r.calls.contacts == 2 && r.calls.conflicting == 0)
        let c = r.total()
        #expect(c.abandoned == 2 && c.transferred == 1)
        // 9.2 abandons at the last refusal, 91 s after queueing; 9.3 after 10 s.
        #expect(r.rows.count == 1)
    }

    @Test func aTransferOutOfTheQueuesEndsTheCall() throws {
        let text = """
            1772442000|9.4|q1|NONE|ENTERQUEUE||0700|1
            1772442010|9.4|q1|A/1|CONNECT|10|x|1
            1772442100|9.4|q1|A/1|BLINDTRANSFER|5551234|external|10|90|1

            """
        let r = try analyze(text)
        #expect(r.lines.lines == 4)  // the transfer line stands for transfer and end
        #expect(r.calls.contacts == 1)
        let c = r.total()
        #expect(c.handled == 1 && c.transferred == 1 && c.misdirected == 0 && c.handleMsSum == 90_000)
    }

    @Test func housekeepingIsSkippedNeverRejected() throws {
        let text = """
            1772442000|NONE|NONE|NONE|QUEUESTART|
            1772442001|NONE|NONE|NONE|CONFIGRELOAD|
            1772442002|NONE|q1|Agent/1|AGENTLOGIN|PJSIP/1
            1772442003|NONE|q1|PJSIP/1|PAUSE|lunch
            1772442004|NONE|q1|PJSIP/1|UNPAUSEALL|
            1772442005|NONE|q1|PJSIP/1|WRAPUPSTART|custom
            1772442006|1.1|q1|NONE|DID|0800123
            1772442007|1.1|q1|PJSIP/1|RINGNOANSWER|1000

            """
        let r = try analyze(text)
        #expect(r.lines.lines == 8 && r.lines.skipped == 8 && r.lines.rejectedTotal == 0)
        #expect(r.lines.skipped(.otherQueueEvent) == 1 && r.lines.skipped(.callInfo) == 1)
    }

    @Test func badLinesAreRejectedByReason() throws {
        let text = """
            1772442000|1.1|q1
            yesterday|1.1|q1|NONE|ENTERQUEUE||0700|1
            1772442000|NONE|q1|NONE|ENTERQUEUE||0700|1
            1772442000|1.1|NONE|NONE|ENTERQUEUE||0700|1
            1772442000|1.1|q1|NONE||

            """
        let r = try analyze(text)
        #expect(r.lines.rejected(.fieldCount) == 1)
        #expect(r.lines.rejected(.badTs) == 1)
        #expect(r.lines.rejected(.missingCall) == 1)
        #expect(r.lines.rejected(.missingService) == 1)
        #expect(r.lines.rejected(.missingEvent) == 1)
    }

    @Test func lateLinesAreJudgedOnTheirTime() throws {
        let text = """
            1772445600|2.1|q1|NONE|ENTERQUEUE||0700|1
            1772445610|2.1|q1|NONE|ABANDON|1|1|10
            1772442000|1.1|q1|NONE|ENTERQUEUE||0701|1

            """
        let r = try analyze(text)
        #expect(r.lines.late == 1 && r.calls.contacts == 1)
    }

    @Test func autoDetectionNeedsTheCentre() throws {
        var s = AnalysisSettings()
        s.period = .all
        let dir = try TempDir()
        let path = dir.path("queue_log")
        try Data("1772442000|1.1|q1|NONE|ENTERQUEUE||0700|1\n".utf8).write(to: URL(fileURLWithPath: path))
        let outcome = try Analysis(settings: s, inputs: [path], pseudonymiser: Pseudonymiser(k0: 1, k1: 2)).run()
        #expect(outcome.errors.first?.description.contains("--centre") == true)
    }
}
