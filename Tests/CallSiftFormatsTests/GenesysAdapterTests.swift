import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftFormats

/// Genesys Cloud conversation records, read by their adapter alone (docs/formats.md,
/// "Genesys Cloud conversation records"): the mapping field by field, what is skipped,
/// counted once or rejected, the three forms' record cutting and recognition.
@Suite struct GenesysAdapterTests {
    /// The adapter's output, as readable events.
    final class Output: AdapterOutput {
        let builder = AdapterStateTests.builder()
        var maxKey = Int64.min
        var events: [String] = []
        var counted: [String] = []
        func admit(orderKey key: Int64) -> Bool {
            if maxKey != .min && key < maxKey &- 600_000 { return false }
            maxKey = max(maxKey, key)
            return true
        }
        var releaseLimit: Int64 { .max }
        func emit(_ e: Event, extraLine: Bool) {
            let service = e.service >= 0 ? builder.services.strings[Int(e.service)] : "-"
            let reason = e.reason >= 0 ? builder.reasons.strings[Int(e.reason)] : "-"
            let caller = e.kind == .arrive ? (e.identified ? "caller" : "unidentified") : "-"
            events.append("\(Timestamp.format(millis: e.ts)) \(e.kind.name) \(service) \(caller) \(e.outcome) \(reason)")
        }
        func countDuplicate() { counted.append("duplicate") }
        func countSkipped(_ kind: SkipKind) { counted.append("skipped \(kind)") }
        func countRejected(_ reason: RejectReason) { counted.append("rejected \(reason)") }
    }

    static func adapter(_ configure: (inout AnalysisSettings) -> Void = { _ in }) throws -> GenesysAdapter {
        var s = AnalysisSettings()
        s.centre = "G1"
        configure(&s)
        return try [UInt8]("{".utf8).withUnsafeBytes { try GenesysAdapter(first: $0, centre: "G1", settings: s) }
    }

    static func read(_ a: GenesysAdapter, _ record: String, _ out: Output) -> AdapterVerdict {
        Array(record.utf8).withUnsafeBytes { a.read($0, out) }
    }

    static func seg(_ s: String, _ e: String, _ type: String, queue: String? = nil) -> String {
        "{\"segmentStart\":\"2026-03-02T\(s)Z\",\"segmentEnd\":\"2026-03-02T\(e)Z\",\"segmentType\":\"\(type)\""
            + (queue.map { ",\"queueId\":\"\($0)\"" } ?? "") + "}"
    }

    static func participant(
        _ purpose: String, name: String? = nil, ani: String? = nil, media: String = "voice", attributes: String? = nil, _ segments: [String]
    )
        -> String
    {
        // Keys in an unusual order: sessions before purpose.
        var f = [
            "\"sessions\":[{\"mediaType\":\"\(media)\"" + (ani.map { ",\"ani\":\"\($0)\"" } ?? "") + ",\"segments\":[\(segments.joined(separator: ","))]}]"
        ]
        f.append("\"purpose\":\"\(purpose)\"")
        if let name { f.append("\"participantName\":\"\(name)\"") }
        if let attributes { f.append("\"attributes\":{\(attributes)}") }
        return "{" + f.joined(separator: ",") + "}"
    }

    static func conversation(_ id: String, start: String, end: String?, direction: String = "inbound", _ participants: [String]) -> String {
        "{\"conversationId\":\"\(id)\",\"conversationStart\":\"2026-03-02T\(start)Z\","
            + (end.map { "\"conversationEnd\":\"2026-03-02T\($0)Z\"," } ?? "")
            + "\"originatingDirection\":\"\(direction)\",\"participants\":[\(participants.joined(separator: ","))]}"
    }

    /// A call through the IVR into a queue, rung at one agent who did not answer, answered
    /// by another, transferred to a queue named only by id, and ended by the customer
    /// before the agent's wrap-up.
    static let transferred = conversation(
        "c-1", start: "09:00:00.000", end: "09:20:00.000",
        [
            participant(
                "customer", ani: "sip:+447700900001@sbc.example;user=phone",
                attributes: "\"outcome\":\"pending\",\"reason\":\"progress_chase\",\"other\":\"x\"",
                [seg("09:00:00.000", "09:15:00.000", "interact")]),
            participant("ivr", name: "Menu", [seg("09:00:00.000", "09:00:30.000", "ivr")]),
            participant("acd", name: "Benefits", [seg("09:00:30.000", "09:02:00.000", "interact", queue: "q-b")]),
            participant("agent", name: "A", [seg("09:01:00.000", "09:01:20.000", "alert")]),
            participant(
                "agent", name: "B", [seg("09:01:50.000", "09:02:00.000", "alert"), seg("09:02:00.000", "09:05:00.000", "interact")]),
            participant("acd", [seg("09:05:00.000", "09:06:00.000", "interact", queue: "q-p")]),
            participant(
                "agent", name: "C", [seg("09:06:00.000", "09:15:00.000", "interact"), seg("09:15:00.000", "09:20:00.000", "wrapup")]),
        ])

    @Test func aConversationIsOneCall() throws {
        let dir = try TempDirectory()
        let queues = dir.path + "/queues.json"
        try Data("{\"entities\":[{\"id\":\"q-p\",\"name\":\"Pensions\"}],\"pageCount\":1}".utf8).write(to: URL(fileURLWithPath: queues))
        let a = try Self.adapter { $0.formatOptions["queue-names"] = queues }
        let out = Output()
        #expect(Self.read(a, Self.transferred, out) == .taken)
        #expect(
            out.events == [
                "2026-03-02T09:00:30.000Z arrive Benefits caller resolved -",
                "2026-03-02T09:05:00.000Z transfer Pensions - resolved -",
                "2026-03-02T09:02:00.000Z answer - - resolved -",
                "2026-03-02T09:15:00.000Z end - - pending progress_chase",
            ])
        // Without the queue listing, the queue is named by its id.
        let plain = Output()
        #expect(Self.read(try Self.adapter(), Self.transferred, plain) == .taken)
        #expect(plain.events[1] == "2026-03-02T09:05:00.000Z transfer q-p - resolved -")
    }

    @Test func abandonedBlockedAndUnidentified() throws {
        let a = try Self.adapter()
        let out = Output()
        let abandoned = Self.conversation(
            "c-2", start: "10:00:00.000", end: "10:03:00.000",
            [
                Self.participant("customer", ani: "tel:+447700900002", [Self.seg("10:00:00.000", "10:03:00.000", "interact")]),
                Self.participant("acd", name: "Benefits", [Self.seg("10:00:20.000", "10:03:00.000", "interact")]),
                Self.participant("agent", [Self.seg("10:01:00.000", "10:01:10.000", "alert")]),
            ])
        #expect(Self.read(a, abandoned, out) == .taken)
        let blocked = Self.conversation(
            "c-3", start: "10:04:00.000", end: "10:04:30.000",
            [
                Self.participant("customer", attributes: "\"service\":\"Pensions\"", [Self.seg("10:04:00.000", "10:04:30.000", "interact")]),
                Self.participant("ivr", [Self.seg("10:04:00.000", "10:04:30.000", "ivr")]),
            ])
        #expect(Self.read(a, blocked, out) == .taken)
        let noService = blocked.replacingOccurrences(of: "c-3", with: "c-4").replacingOccurrences(of: "\"service\":\"Pensions\"", with: "")
        #expect(Self.read(a, noService, out) == .taken)
        #expect(
            out.events == [
                "2026-03-02T10:00:20.000Z arrive Benefits caller resolved -",
                "2026-03-02T10:03:00.000Z abandon - - resolved -",
                "2026-03-02T10:04:00.000Z arrive Pensions unidentified resolved -",
                "2026-03-02T10:04:30.000Z blocked - - resolved -",
                "2026-03-02T10:04:00.000Z arrive (ivr) unidentified resolved -",
                "2026-03-02T10:04:30.000Z blocked - - resolved -",
            ])
    }

    @Test func callerAddresses() {
        func number(_ s: String) -> String {
            String(decoding: Array(s.utf8).withUnsafeBytes { GenesysAdapter.number(fromAddress: $0) }, as: UTF8.self)
        }
        #expect(number("tel:+447700900001") == "+447700900001")
        #expect(number("TEL:+447700900001") == "+447700900001")
        #expect(number("sip:+447700900001@10.0.0.1;user=phone") == "+447700900001")
        #expect(number("sips:alice@example.gov.uk") == "alice")
        #expect(number("+447700900001") == "+447700900001")
    }

    /// Outbound, chats and snapshots in progress are skipped and move no horizon; a second
    /// complete copy is a duplicate; a conversation ended long before the latest is late.
    @Test func skippedCopiesAndLate() throws {
        let a = try Self.adapter()
        let out = Output()
        let customer = Self.participant("customer", ani: "tel:1", [Self.seg("11:00:00.000", "11:05:00.000", "interact")])
        let queue = Self.participant("acd", name: "Q", [Self.seg("11:00:10.000", "11:05:00.000", "interact")])
        let inProgress = Self.conversation("c-5", start: "11:00:00.000", end: nil, [customer, queue])
        #expect(Self.read(a, inProgress, out) == .skipped(.inProgress))
        let outbound = Self.conversation("o-1", start: "23:00:00.000", end: "23:30:00.000", direction: "outbound", [customer])
        #expect(Self.read(a, outbound, out) == .skipped(.outbound))
        let chat = Self.conversation(
            "m-1", start: "23:00:00.000", end: "23:30:00.000",
            [Self.participant("customer", media: "chat", [Self.seg("23:00:00.000", "23:30:00.000", "interact")])])
        #expect(Self.read(a, chat, out) == .skipped(.otherMedia))
        #expect(out.maxKey == .min)
        let done = Self.conversation("c-5", start: "11:00:00.000", end: "11:05:00.000", [customer, queue])
        #expect(Self.read(a, done, out) == .taken)
        #expect(Self.read(a, done, out) == .duplicate)
        #expect(Self.read(a, inProgress, out) == .skipped(.inProgress))
        let later = Self.conversation("c-6", start: "12:00:00.000", end: "12:05:00.000", [customer, queue])
        #expect(Self.read(a, later, out) == .taken)
        #expect(Self.read(a, done.replacingOccurrences(of: "c-5", with: "c-7"), out) == .late)
        // A conversation whose first event is more than the call timeout before its end.
        let long = Self.conversation(
            "c-8", start: "05:00:00.000", end: "12:06:00.000",
            [customer, Self.participant("acd", name: "Q", [Self.seg("05:00:10.000", "05:01:00.000", "interact")])])
        #expect(Self.read(a, long, out) == .skipped(.stale))
        #expect(a.floor(latestKey: out.maxKey) == out.maxKey - 600_000 - 6 * 3_600_000)
    }

    @Test func hostileRecordsAreCountedRejections() throws {
        let a = try Self.adapter()
        let out = Output()
        let cases: [(String, RejectReason)] = [
            ("{\"conversationId\":\"x\"", .badJSON),
            ("[1,2]", .badJSON),
            ("{\"conversationId\":\"x\",\"participants\":{}}", .badValue),
            ("{\"conversationId\":\"x\",\"participants\":[1]}", .badValue),
            ("{\"conversationId\":\"x\",\"participants\":[{\"purpose\":7}]}", .badValue),
            ("{\"conversationId\":\"x\",\"participants\":[{\"sessions\":[{\"segments\":\"no\"}]}]}", .badValue),
            ("{\"conversationId\":\"x\",\"participants\":[{\"attributes\":[]}]}", .badValue),
            ("{\"conversationId\":7}", .badValue),
            ("{\"conversationId\":\"x\",\"originatingDirection\":\"inbound\"}", .missingTs),
            ("{\"conversationStart\":\"yesterday\",\"conversationId\":\"x\"}", .badTs),
            ("{\"conversationStart\":\"2026-03-02T10:00:00Z\",\"originatingDirection\":\"inbound\"}", .missingCall),
            ("{\"conversationStart\":\"2026-03-02T10:00:00Z\",\"conversationId\":\"x\"}", .missingEvent),
            ("{\"conversationStart\":\"2026-03-02T10:00:00Z\",\"conversationId\":\"x\",\"originatingDirection\":\"sideways\"}", .badValue),
            (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), .badJSON),
        ]
        for (record, reason) in cases {
            #expect(Self.read(a, record, out) == .rejected(reason), "\(record)")
        }
        // A segment whose time is not one.
        let bad = Self.transferred.replacingOccurrences(of: "2026-03-02T09:05:00.000Z", with: "noon")
        #expect(Self.read(a, bad, out) == .rejected(.badTs))
        #expect(out.events.isEmpty)
    }

    @Test func optionsAreCheckedNamingTheFlag() throws {
        var s = AnalysisSettings()
        s.format = .genesys
        #expect(FormatRegistry.problem(s)?.contains("--centre") == true)
        s.centre = "G1"
        #expect(FormatRegistry.problem(s) == nil)
        s.formatOptions["attribute-keys"] = "outcome=wrap,colour=blue"
        #expect(FormatRegistry.problem(s)?.contains("--attribute-keys") == true)
        s.formatOptions["attribute-keys"] = "outcome=wrap,reason=why"
        #expect(FormatRegistry.problem(s) == nil)
        s.formatOptions["queue-names"] = "/nonexistent/queues.json"
        #expect(FormatRegistry.problem(s)?.contains("--queue-names") == true)
    }

    /// The three forms: records one a line, details-job pages, query pages; as `auto`
    /// recognises them and as their records are cut.
    @Test func theThreeFormsAreRecognisedAndCut() throws {
        let records = [Self.transferred, Self.transferred.replacingOccurrences(of: "c-1", with: "c-9")]
        let lines = records.joined(separator: "\n") + "\n"
        let job = "\u{FEFF}{\n  \"conversations\": [\n" + records.joined(separator: ",\n") + "\n  ],\n  \"cursor\": \"abc\"\n}\n"
        let query = "{\"conversations\":[" + records.joined(separator: ",") + "],\"totalHits\":2}"
        let array = "[" + records.joined(separator: ",") + "]"
        // A page's members in another order: the records' member after others.
        let reordered =
            "{\"totalHits\":2,\"aggregations\":[{\"group\":{\"conversationId\":\"q\"}}],\"conversations\":["
            + records.joined(separator: ",") + "]}"
        for text in [lines, job, query, array, reordered] {
            let bytes = Array(text.utf8)
            #expect(bytes.withUnsafeBytes { FormatRegistry.detect($0) } == .genesys)
            let a = try bytes.withUnsafeBytes { try GenesysAdapter(first: $0, centre: "G1", settings: AnalysisSettings()) }
            var s = a.recordCutting == .jsonObjects ? JSONObjectSplitter() : JSONObjectSplitter(pages: "conversations")
            var cut: [String] = []
            let body = text.hasPrefix("\u{FEFF}") ? Array(bytes.dropFirst(3)) : bytes
            body.withUnsafeBytes { b in s.feed(b) { cut.append(String(decoding: $0.bytes, as: UTF8.self)) } }
            s.finish(truncated: false) { cut.append(String(decoding: $0.bytes, as: UTF8.self)) }
            #expect(cut == records, "\(text.prefix(20))")
        }
        // Contact trace records are still theirs, as an array too.
        let ctr = Array("[{\"ContactId\":\"c\",\"InitiationMethod\":\"INBOUND\"}]".utf8)
        #expect(ctr.withUnsafeBytes { FormatRegistry.detect($0) } == .ctr)
    }

    /// A page cut short keeps its whole records; the one cut off is a counted record, and
    /// stray text in a page's array is one too.
    @Test func damagedPages() {
        let page = "{\"conversations\":[{\"a\":1},\n7,\n{\"b\":[2]},{\"c\":\"}\"}],\"cursor\":\"x\"}{\"conversations\":[{\"d\":{"
        let cut = Self.cutPages(page, truncated: true)
        #expect(cut.map(\.1) == ["{\"a\":1}", "7,", "{\"b\":[2]}", "{\"c\":\"}\"}", "{\"d\":{"])
        #expect(cut.last?.0 == .truncated)
    }

    /// The records are those of the page's `conversations` member only: other arrays (a
    /// query's aggregations, a nested list) are passed over, and a `conversations` that is
    /// not an array is one record, which the parser then rejects, not nothing.
    @Test func onlyTheConversationsMemberHoldsRecords() throws {
        let page = """
            {"aggregations": [{"group": {"a": 1}}], "x": {"conversations": [{"no": 1}]},
             "conversations": [{"a": 1}], "totalHits": 1}
            {"conversations": 5, "cursor": "c"}
            {"cursor": "d", "conversations": {"conversationId": "x"}}
            {
              "conversations": "none"
            }
            {"conversations": [], "totalHits": 0}
            {"totalHits": 0}
            """
        let cut = Self.cutPages(page, truncated: false)
        #expect(cut.map(\.1) == ["{\"a\": 1}", "5", "{\"conversationId\": \"x\"}", "\"none\"\n"])
        #expect(cut.map(\.2) == [2, 3, 4, 6])
        // Read as an input, each of those is counted: none silently gone.
        var settings = AnalysisSettings()
        settings.centre = "G1"
        let a = try InputParserTests.account(Array((page + "\n").utf8), settings: settings, format: .genesys)
        #expect(a.lines == 4 && a.rejectedTotal == 4)
    }

    static func cutPages(_ text: String, truncated: Bool) -> [(RawRecord.Kind, String, Int64)] {
        var s = JSONObjectSplitter(pages: "conversations")
        var cut: [(RawRecord.Kind, String, Int64)] = []
        Array(text.utf8).withUnsafeBytes { b in s.feed(b) { cut.append(($0.kind, String(decoding: $0.bytes, as: UTF8.self), $0.lineNo)) } }
        s.finish(truncated: truncated) { cut.append(($0.kind, String(decoding: $0.bytes, as: UTF8.self), $0.lineNo)) }
        return cut
    }

    /// Saved after any record of the sample and made again, the adapter goes on as one that
    /// never stopped (as `AdapterStateTests` checks the other adapters).
    @Test func savedAndRestoredAtEveryRecord() throws {
        var s = AnalysisSettings()
        s.centre = "G1"
        try AdapterStateTests.check(.genesys, try AdapterStateTests.records("genesys.ndjson", format: .genesys), settings: s)
    }
}

/// A temporary directory, removed at the end.
final class TempDirectory {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-formats-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
