import Testing
@testable import CallSiftCore
@testable import CallSiftFormats

/// `--format auto`: an input's record format told from its first decoded bytes, after a
/// UTF-8 byte-order mark and white space. `[` or a `{` with a contact trace record key is
/// a CTR input, any other `{` canonical NDJSON, a first line `digits|` a queue_log file, a
/// CSV header naming `callid`, `queuename` and `event` a queue_log database export, and
/// anything else (garbage and empty input included) canonical CSV.
@Suite struct FormatRegistryTests {
    static func detect(_ text: String) -> AnalysisSettings.InputFormat { detect(bytes: Array(text.utf8)) }

    static func detect(bytes: [UInt8]) -> AnalysisSettings.InputFormat {
        bytes.withUnsafeBytes { FormatRegistry.detect($0) }
    }

    static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Canonical CSV, with its header or without one.
    @Test func canonicalCSV() {
        #expect(Self.detect("ts,centre,call,event,caller,service,outcome,reason\n2026-03-02T09:00:00Z,C1,a,arrive,0700,S1,,\n") == .csv)
        #expect(Self.detect("2026-03-02T09:00:00Z,C1,a,arrive,0700,S1,,\n") == .csv)
        #expect(Self.detect(bytes: Self.bom + Array("ts,centre,call,event\r\n".utf8)) == .csv)
        // The queue_log's column names in a canonical header make it no export.
        #expect(Self.detect("ts,centre,call,event,caller,service,outcome,reason,callid\n") == .csv)
    }

    /// Any `{` without a contact trace record key is canonical NDJSON, also after a BOM and
    /// white space.
    @Test func canonicalNDJSON() {
        let line = #"{"ts":"2026-03-02T09:00:00Z","centre":"C1","call":"a","event":"arrive"}"# + "\n"
        #expect(Self.detect(line) == .ndjson)
        #expect(Self.detect(line + line) == .ndjson)
        #expect(Self.detect(bytes: Self.bom + Array((" \r\n\t" + line).utf8)) == .ndjson)
        #expect(Self.detect("{") == .ndjson)
        // Keys are matched exactly, with their quotes.
        #expect(Self.detect(#"{"contactid":"x","Contactid":"y","ContactIdentifier":"z"}"#) == .ndjson)
        #expect(Self.detect(#"{"call":"a ContactId b","reason":"InitiationMethod?"}"#) == .ndjson)
    }

    /// Contact trace records: one object a line, a JSON array (pretty-printed or not), or
    /// objects back to back; recognised by any one of the three keys.
    @Test func contactTraceRecords() {
        let record = #"{"AWSContactTraceRecordFormatVersion":"2017-03-10","ContactId":"c-1","InitiationMethod":"INBOUND"}"#
        #expect(Self.detect(record + "\n" + record + "\n") == .ctr)
        #expect(Self.detect("[" + record + "," + record + "]") == .ctr)
        #expect(Self.detect("[\n  {\n    \"ContactId\": \"c-1\"\n  }\n]\n") == .ctr)
        #expect(Self.detect(record + record + record) == .ctr)
        #expect(Self.detect(bytes: Self.bom + Array(("\n " + record).utf8)) == .ctr)
        for key in ["ContactId", "AWSContactTraceRecordFormatVersion", "InitiationMethod"] {
            #expect(Self.detect(#"{"Channel":"VOICE","\#(key)":"v"}"#) == .ctr, "\(key)")
        }
        // A key far into the first chunk, in a nested object of a later record, still counts.
        let filler = String(repeating: #"{"Channel":"VOICE","Queue":{"Name":"q"}}"# + "\n", count: 500)
        #expect(Self.detect(filler + #"{"Agent":{"InitiationMethod":"x"}}"#) == .ctr)
        // A `[` is a CTR array whatever follows it.
        #expect(Self.detect("[]") == .ctr)
        #expect(Self.detect("[1,2") == .ctr)
    }

    /// An Asterisk queue_log file: the first line starts with digits and a `|`.
    @Test func queueLogFile() {
        #expect(Self.detect("1772442000|NONE|NONE|NONE|QUEUESTART|\n1772442060|1772442060.1|benefits|NONE|ENTERQUEUE||07700900001|1\n") == .queuelog)
        #expect(Self.detect("1|x") == .queuelog)
        #expect(Self.detect(bytes: Self.bom + Array("\n\n  1772442060|1772442060.1|q|NONE|ENTERQUEUE||0700|1\r\n".utf8)) == .queuelog)
        // Digits then something else, or a `|` without digits, is not one.
        #expect(Self.detect("1772442000,NONE|x\n") == .csv)
        #expect(Self.detect("|1772442000|x\n") == .csv)
        #expect(Self.detect("x1772442000|x\n") == .csv)
        #expect(Self.detect("1772442000\n") == .csv)
        #expect(Self.detect("1772442000") == .csv)
        // Only the first line is looked at.
        #expect(Self.detect("ts,centre\n1772442000|NONE|NONE|NONE|QUEUESTART|\n") == .csv)
    }

    /// A queue_log database export: a CSV header naming `callid`, `queuename` and `event`,
    /// in any order and among any other columns, quoted or not, with a CRLF or no line end.
    @Test func queueLogDatabaseExport() {
        #expect(
            Self.detect("id,time,callid,queuename,agent,event,data1,data2,data3,data4,data5\n1,2026-03-02 09:00:00,c,q,NONE,ENTERQUEUE,,,,,\n") == .queuelog)
        #expect(Self.detect("event,queuename,callid") == .queuelog)
        #expect(Self.detect("time,callid,queuename,agent,event\r\n") == .queuelog)
        #expect(Self.detect("\"time\",\"callid\",\"queuename\",\"agent\",\"event\"\n") == .queuelog)
        #expect(Self.detect(bytes: Self.bom + Array("time,callid,queuename,agent,event\n".utf8)) == .queuelog)
        // Every one of the three is needed, spelled exactly.
        #expect(Self.detect("time,callid,queuename,agent\n") == .csv)
        #expect(Self.detect("time,queuename,agent,event\n") == .csv)
        #expect(Self.detect("time,callid,agent,event\n") == .csv)
        #expect(Self.detect("time,CallId,QueueName,Event\n") == .csv)
        #expect(Self.detect("time, callid, queuename, event\n") == .csv)
        // On a later line they name nothing.
        #expect(Self.detect("a,b\ntime,callid,queuename,agent,event\n") == .csv)
    }

    /// Empty input, white space alone, a lone BOM and bytes that are no format at all fall
    /// back to canonical CSV.
    @Test func emptyAndGarbageAreCSV() {
        #expect(Self.detect("") == .csv)
        #expect(Self.detect(" \n\r\n\t ") == .csv)
        #expect(Self.detect(bytes: Self.bom) == .csv)
        #expect(Self.detect(bytes: Self.bom + [0x0A]) == .csv)
        #expect(Self.detect(bytes: [0x00, 0xFF, 0xFE, 0x7B, 0x5B]) == .csv)
        #expect(Self.detect(bytes: [0x1F, 0x8B, 0x08, 0x00]) == .csv)
        #expect(Self.detect("hello world") == .csv)
        #expect(Self.detect("<xml>{\"ContactId\":1}</xml>") == .csv)
        // Half a BOM is not skipped.
        #expect(Self.detect(bytes: [0xEF, 0xBB, 0x7B]) == .csv)
        // A BOM after white space is not skipped either.
        #expect(Self.detect(bytes: [0x20] + Self.bom + Array("{}".utf8)) == .csv)
    }
}
