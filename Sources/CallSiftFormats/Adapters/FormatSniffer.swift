import CallSiftCore
/// `--format auto`: recognises an input's record format from its first decoded bytes.
///
/// - `[`, or `{` opening an object with a contact trace record key (`ContactId`,
///   `AWSContactTraceRecordFormatVersion`, `InitiationMethod`) in the first chunk: Amazon
///   Connect contact trace records;
/// - any other `{`: canonical NDJSON;
/// - a first line starting `digits|`: an Asterisk queue_log file;
/// - a CSV header naming `callid`, `queuename` and `event`: a queue_log database export;
/// - anything else: canonical CSV.
package enum FormatSniffer {
    package static func detect(_ bytes: UnsafeRawBufferPointer) -> AnalysisSettings.InputFormat {
        var i = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        guard i < bytes.count else { return .csv }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[i...])
        if rest[0] == 0x5B { return .ctr }
        if rest[0] == 0x7B {
            for key in ["\"ContactId\"", "\"AWSContactTraceRecordFormatVersion\"", "\"InitiationMethod\""] where contains(rest, key) {
                return .ctr
            }
            return .ndjson
        }
        var end = 0
        while end < rest.count, rest[end] != 0x0A { end += 1 }
        let line = UnsafeRawBufferPointer(rebasing: rest[0..<end])
        if QueueLogAdapter.looksLikeFileForm(line) { return .queuelog }
        var names: Set<String> = []
        _ = CSVRecordParser.split(line) { _, name in
            var n = String(decoding: name, as: UTF8.self)
            if n.hasSuffix("\r") { n.removeLast() }
            names.insert(n)
        }
        if names.contains("callid") && names.contains("queuename") && names.contains("event") { return .queuelog }
        return .csv
    }

    private static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard haystack.count >= n.count else { return false }
        var i = 0
        while i + n.count <= haystack.count {
            if haystack[i] == n[0] && n.elementsEqual(haystack[i..<i + n.count]) { return true }
            i += 1
        }
        return false
    }
}
