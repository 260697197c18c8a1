import Foundation

/// Reads `analyze`'s JSON output back into a `Report`, so that partial runs can be merged
/// (`callsift merge`) and accredited without the raw logs.
///
/// Everything the writer prints is read back, and `JSONReportWriter.render` of what is read
/// gives the same bytes: counters are integers, rates and averages are recomputed from
/// them (the writer derives them from the counters too), and `config` names every setting.
public enum ReportReader {
    /// A problem with one JSON input, naming the file and what is wrong.
    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Whether the start of a file looks like `analyze` JSON (`{` then `"config"`) rather
    /// than an NDJSON event log, whose first object starts with an event key.
    public static func looksLikeReport(path: String) -> Bool {
        // A folder (of logs) opens but cannot be read: not a report.
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        guard let head = try? h.read(upToCount: 256) else { return false }
        let text = String(decoding: head, as: UTF8.self)
        var rest = Substring(text)
        rest = rest.drop { $0.isWhitespace }
        guard rest.first == "{" else { return false }
        rest = rest.dropFirst().drop { $0.isWhitespace }
        return rest.hasPrefix("\"config\"")
    }

    public static func read(path: String) throws -> Report {
        guard let data = FileManager.default.contents(atPath: path) else { throw Error(description: "\(path): cannot read the file") }
        return try read(data: data, name: path)
    }

    public static func read(data: Data, name: String) throws -> Report {
        func fail(_ m: String) -> Error { Error(description: "\(name): \(m)") }
        let top: [String: Any]
        do {
            guard let t = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw fail("not a JSON object") }
            top = t
        } catch let e as Error { throw e } catch { throw fail("not valid JSON (\(error.localizedDescription))") }
        guard let config = top["config"] as? [String: Any] else { throw fail("no \"config\" object: not callsift analyze output") }
        guard let accounting = top["accounting"] as? [String: Any] else { throw fail("no \"accounting\" object") }
        guard let rows = top["rows"] as? [Any] else { throw fail("no \"rows\" array") }

        func int(_ o: [String: Any], _ key: String, _ where_: String) throws -> Int64 {
            guard let n = o[key] as? NSNumber else { throw fail("\(where_)\"\(key)\" is missing or not an integer") }
            let v = n.int64Value
            guard n.doubleValue == Double(v) else { throw fail("\(where_)\"\(key)\" is not an integer") }
            return v
        }
        func str(_ o: [String: Any], _ key: String, _ where_: String) throws -> String {
            guard let s = o[key] as? String else { throw fail("\(where_)\"\(key)\" is missing or not a string") }
            return s
        }

        var s = AnalysisSettings()
        let c = "config: "
        guard let format = AnalysisSettings.InputFormat(rawValue: try str(config, "format", c)) else { throw fail("config: unknown format") }
        guard let scope = AnalysisSettings.Scope(rawValue: try str(config, "scope", c)) else { throw fail("config: unknown scope") }
        guard let by = AnalysisSettings.Grouping(rawValue: try str(config, "by", c)) else { throw fail("config: unknown \"by\"") }
        guard let period = Period(rawValue: try str(config, "period", c)) else { throw fail("config: unknown period") }
        s.format = format
        s.scope = scope
        s.grouping = by
        s.period = period
        s.timeZone = try str(config, "tz", c)
        s.callTimeout = try int(config, "call_timeout_ms", c)
        s.lateness = try int(config, "lateness_ms", c)
        s.repeatWindow = try int(config, "repeat_window_ms", c)
        s.chaseWindow = try int(config, "chase_window_ms", c)
        s.retryWindow = try int(config, "retry_window_ms", c)
        s.shortAbandon = try int(config, "short_abandon_ms", c)
        s.slThreshold = try int(config, "sl_threshold_ms", c)
        s.minCell = try int(config, "min_cell", c)
        if let map = config["reason_map"] {
            guard let m = map as? [String: String] else { throw fail("config: \"reason_map\" is not an object of strings") }
            s.reasonMap = m
        }
        guard let inputs = config["inputs"] as? [String] else { throw fail("config: \"inputs\" is not an array of strings") }
        // Absent from reports made before content fingerprints were recorded.
        var inputFiles: [Report.InputFile] = []
        if let files = config["input_files"] {
            guard let list = files as? [Any] else { throw fail("config: \"input_files\" is not an array") }
            for (k, any) in list.enumerated() {
                let w = "config.input_files[\(k)]: "
                guard let o = any as? [String: Any] else { throw fail(w + "not an object") }
                var content: ContentFingerprint?
                if let text = o["content"], !(text is NSNull) {
                    guard let t = text as? String, let fp = ContentFingerprint(t) else { throw fail(w + "\"content\" is not a content fingerprint") }
                    content = fp
                }
                inputFiles.append(Report.InputFile(path: try str(o, "file", w), content: content, lines: try int(o, "lines", w)))
            }
        }

        var horizon: Int64?
        if let h = top["horizon"], !(h is NSNull) {
            guard let text = h as? String else { throw fail("\"horizon\" is not a string") }
            var bytes = Array(text.utf8)
            horizon = bytes.withUnsafeMutableBytes { Timestamp.parse(UnsafeRawBufferPointer($0)) }
            guard horizon != nil else { throw fail("\"horizon\" is not an RFC 3339 time") }
        }

        let a = "accounting: "
        var lines = LineAccounting()
        lines.lines = try int(accounting, "lines", a)
        lines.late = try int(accounting, "late", a)
        lines.skipped = try int(accounting, "skipped", a)
        guard let rejected = accounting["rejected"] as? [String: Any] else { throw fail("accounting: \"rejected\" is not an object") }
        for (reason, _) in rejected {
            guard let r = RejectReason(rawValue: reason) else { throw fail("accounting: unknown reject reason '\(reason)'") }
            lines.rejected[LineAccounting.index(r)] = try int(rejected, reason, "accounting.rejected: ")
        }
        guard lines.rejectedTotal == (try int(accounting, "rejected_total", a)) else { throw fail("accounting: rejected_total is not the sum of rejected") }
        var calls = CallAssembler.Accounting()
        calls.events = try int(accounting, "events", a)
        calls.duplicates = try int(accounting, "duplicates", a)
        guard let callCounts = accounting["calls"] as? [String: Any] else { throw fail("accounting: \"calls\" is not an object") }
        calls.contacts = try int(callCounts, "contacts", "accounting.calls: ")
        calls.incomplete = try int(callCounts, "incomplete", "accounting.calls: ")
        calls.conflicting = try int(callCounts, "conflicting", "accounting.calls: ")
        calls.horizon = horizon ?? .min

        var out: [Report.Row] = []
        out.reserveCapacity(rows.count)
        for (k, any) in rows.enumerated() {
            guard let o = any as? [String: Any] else { throw fail("rows[\(k)] is not an object") }
            let w = "rows[\(k)]: "
            var counters = Counters()
            for f in Counters.fields { counters[keyPath: f.path] = try int(o, f.name, w) }
            let service = o["service"] as? String
            if (service == nil) != (by == .centre) { throw fail("rows[\(k)]: \"service\" must be present exactly when config.by is \"service\"") }
            out.append(Report.Row(centre: try str(o, "centre", w), service: service, period: try str(o, "period", w), counters: counters))
        }
        var report = Report(settings: s, inputs: inputs, horizon: horizon, lines: lines, calls: calls, rows: out)
        report.inputFiles = inputFiles
        return report
    }
}
