import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Reading, rejection, lateness and the accounting identity (docs/metrics.md, "Input
/// records" and "Accounting").
@Suite struct InputCursorTests {
    static let header = "ts,centre,call,event,caller,service,outcome,reason"

    func analyze(_ text: String, name: String = "in.csv", _ configure: (inout AnalysisSettings) -> Void = { _ in }) throws -> Report {
        var s = AnalysisSettings()
        s.period = .all
        configure(&s)
        return try Scenario.analyze(text, settings: s, name: name)
    }

    @Test func everyRejectionReasonIsCountedAndTheIdentityHolds() throws {
        let text = """
            \(Self.header)
            2026-03-02T09:00:00Z,C1,a,arrive,0700,S1,,
            2026-03-02T09:00:05Z,C1,a,abandon,,,,

            not a timestamp,C1,b,arrive,0700,S1,,
            ,C1,b,arrive,0700,S1,,
            2026-03-02T09:00:06Z,,b,arrive,0700,S1,,
            2026-03-02T09:00:06Z,C1,,arrive,0700,S1,,
            2026-03-02T09:00:06Z,C1,b,,0700,S1,,
            2026-03-02T09:00:06Z,C1,b,hangup,0700,S1,,
            2026-03-02T09:00:06Z,C1,b,arrive,0700,,,
            2026-03-02T09:00:06Z,C1,b,end,,,maybe,
            2026-03-02T09:00:06Z,C1,b,arrive,0700,S1
            2026-03-02T09:00:06Z,C1,b,arrive,"07"00,S1,,
            2026-03-02T09:00:06Z,C1,b,arrive,"0700,S1,,
            """
        let r = try analyze(text)
        let a = r.lines
        #expect(a.lines == 13)
        #expect(r.calls.events == 2)
        #expect(a.rejected(.badTs) == 1)
        #expect(a.rejected(.missingTs) == 1)
        #expect(a.rejected(.missingCentre) == 1)
        #expect(a.rejected(.missingCall) == 1)
        #expect(a.rejected(.missingEvent) == 1)
        #expect(a.rejected(.unknownEvent) == 1)
        #expect(a.rejected(.missingService) == 1)
        #expect(a.rejected(.badOutcome) == 1)
        #expect(a.rejected(.fieldCount) == 1)
        #expect(a.rejected(.badQuote) == 1)
        #expect(a.rejected(.unterminatedQuote) == 1)
        #expect(a.rejectedTotal == 11)
        #expect(r.accountingHolds)
    }

    @Test func quotedFieldsMayHoldCommasQuotesAndNewlines() throws {
        let text =
            "\(Self.header)\r\n" + "2026-03-02T09:00:00Z,\"C,1\",\"a\",arrive,\"07\"\"00\",\"S\n1\",,\r\n" + "2026-03-02T09:00:05Z,\"C,1\",a,abandon,,,,\r\n"
        let r = try analyze(text)
        #expect(r.lines.lines == 2)
        #expect(r.calls.contacts == 1)
        #expect(r.rows.first?.centre == "C,1")
        #expect(r.rows.first?.service == "S\n1")
    }

    @Test func columnOrderIsFreeAndUnknownColumnsAreIgnored() throws {
        let text = """
            note,event,call,centre,ts,service,caller
            x,arrive,a,C1,1772442000000,S1,0700
            y,abandon,a,C1,1772442005000,,
            """
        let r = try analyze(text)
        #expect(r.calls.contacts == 1)
        #expect(r.lines.rejectedTotal == 0)
    }

    @Test func missingCallerColumnRejectsArrives() throws {
        let text = """
            ts,centre,call,event,service
            1772442000000,C1,a,arrive,S1
            1772442005000,C1,a,abandon,
            """
        let r = try analyze(text)
        #expect(r.lines.rejected(.missingCaller) == 1)
        #expect(r.calls.incomplete == 1)
    }

    @Test func ndjsonWithNumbersNullsAndUnknownKeys() throws {
        let text = """
            {"ts": 1772442000000, "centre": "C1", "call": 7, "event": "arrive", "caller": "0700", "service": "S1", "x": {"y": [1, 2, {"z": null}]}}
            {"ts": "2026-03-02T09:00:05.250+00:00", "centre": "C1", "call": "7", "event": "answer", "reason": null}
            {"ts": "2026-03-02T09:01:05Z", "centre": "C1", "call": "7", "event": "end", "outcome": "pending"}
            {"ts": "2026-03-02T09:01:05Z", "centre": "C1", "call": "8", "event": "arrive", "service": "S1"}
            {"ts": "2026-03-02T09:01:05Z", "centre": "C1", "call": "8", "event": "arrive", "caller": true, "service": "S1"}
            {"ts": "2026-03-02T09:01:05Z", "centre": "C1"
            [1, 2]
            {"ts": "2026-03-02T09:01:05Z", "centre": "C\\u00e9", "call": "9", "event": "blocked"} trailing
            """
        let r = try analyze(text, name: "in.ndjson")
        #expect(r.lines.lines == 8)
        #expect(r.calls.contacts == 1)
        #expect(r.lines.rejected(.missingCaller) == 1)
        #expect(r.lines.rejected(.badValue) == 1)
        #expect(r.lines.rejected(.badJSON) == 3)
        #expect(r.total().waitMsSum == 5250)
        #expect(r.accountingHolds)
    }

    @Test func lateEventsAreJudgedWithinTheirInput() throws {
        // The lateness bound is 10 minutes: 09:10:00 after 09:20:00 is exactly 10 min
        // below (not late); 09:09:59.999 is more than 10 min below (late).
        let text = """
            \(Self.header)
            2026-03-02T09:20:00Z,C1,x,arrive,0700,S1,,
            2026-03-02T09:10:00Z,C1,a,arrive,0701,S1,,
            2026-03-02T09:09:59.999Z,C1,b,arrive,0702,S1,,
            2026-03-02T09:20:01Z,C1,x,abandon,,,,
            2026-03-02T09:20:01Z,C1,a,abandon,,,,
            """
        let dir = try TempDir()
        let rejects = dir.url.appendingPathComponent("rejects.tsv")
        var s = AnalysisSettings()
        s.period = .all
        let r = try Scenario.analyze(text, settings: s, rejects: rejects)
        #expect(r.lines.late == 1)
        #expect(r.calls.contacts == 2)
        let log = try String(contentsOf: rejects, encoding: .utf8)
        #expect(log == "4\tlate\t2026-03-02T09:09:59.999Z,C1,b,arrive,0702,S1,,\n")
    }

    @Test func rejectsFileHoldsLineNumberReasonAndRawLine() throws {
        let text = "\(Self.header)\n\n2026-13-02T09:00:00Z,C1,a,arrive,0700,S1,,\nfoo\n"
        let dir = try TempDir()
        let rejects = dir.url.appendingPathComponent("rejects.tsv")
        var s = AnalysisSettings()
        s.period = .all
        _ = try Scenario.analyze(text, settings: s, rejects: rejects)
        let log = try String(contentsOf: rejects, encoding: .utf8)
        #expect(log == "3\tbad_ts\t2026-13-02T09:00:00Z,C1,a,arrive,0700,S1,,\n4\tfield_count\tfoo\n")
    }

    @Test func invalidUTF8NulAndOverlongLines() throws {
        var bytes = Array("\(Self.header)\n".utf8)
        bytes += Array("2026-03-02T09:00:00Z,C1,a,arrive,07".utf8) + [0xC3, 0x28] + Array(",S1,,\n".utf8)
        bytes += Array("2026-03-02T09:00:00Z,C1,b,arrive,07".utf8) + [0x00] + Array(",S1,,\n".utf8)
        bytes += Array("2026-03-02T09:00:00Z,C1,c,arrive,".utf8) + [UInt8](repeating: 0x41, count: 70_000) + Array(",S1,,\n".utf8)
        bytes +=
            Array("2026-03-02T09:00:00Z,C1,d,arrive,\"".utf8) + [UInt8](repeating: 0x42, count: 70_000)
            + Array("\n2026-03-02T09:00:00Z,C1,e,arrive,07,S1,,\n".utf8)
        bytes += Array("2026-03-02T09:00:00Z,C1,f,arrive,0700,S1,,\n".utf8)
        let dir = try TempDir()
        let path = dir.path("in.csv")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var s = AnalysisSettings()
        s.period = .all
        let r = try Scenario.analyze(paths: [path], settings: s)
        #expect(r.lines.rejected(.invalidUTF8) == 1)
        #expect(r.lines.rejected(.nulByte) == 1)
        // c: over 64 KiB; d: an open quote that runs past 64 KiB is cut at the next newline,
        // so e, the next line, is read again normally.
        #expect(r.lines.rejected(.lineTooLong) == 2)
        #expect(r.calls.events == 2)
        #expect(r.accountingHolds)
    }

    @Test func repeatedHeaderRowsAndByteOrderMarkAreNotLines() throws {
        let text = "\u{FEFF}\(Self.header)\n2026-03-02T09:00:00Z,C1,a,arrive,0700,S1,,\n\(Self.header)\n2026-03-02T09:00:05Z,C1,a,abandon,,,,\n"
        let r = try analyze(text)
        #expect(r.lines.lines == 2)
        #expect(r.calls.contacts == 1)
    }

    @Test func emptyInputAndHeaderOnly() throws {
        for text in ["", Self.header + "\n", "\n\n"] {
            let r = try analyze(text)
            #expect(r.lines.lines == 0)
            #expect(r.horizon == nil)
            #expect(r.rows.isEmpty)
        }
    }
}
