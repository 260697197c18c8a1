import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSift
import Foundation

/// Merges `analyze` reports of partial runs (by centre, by month, by machine) into one.
///
/// Counters are added exactly per (centre, service, period); accounting is added; the
/// horizon is the latest; inputs are concatenated in argument order. Reports made with
/// different settings are refused, naming the setting, because their counters do not
/// mean the same thing.
///
/// What is exact: every counter is a sum over contacts, so when the parts hold disjoint
/// contacts whose classification does not depend on contacts in other parts (for example
/// a split by centre analysed with `--scope centre` or `--scope service`), the merge equals
/// one run over all the data. What is not: a split by time cuts caller histories, so a
/// repeat, chase or retry whose earlier contact is in the previous part is not seen, a
/// contact near the end of a part may count as resolved first time although its caller
/// called again in the next part, and FCR maturity is judged against each part's own
/// horizon. See docs/accreditation.md.
public enum ReportMerge {
    /// Settings that must agree, with how they are named in `config`.
    static func differences(_ a: AnalysisSettings, _ b: AnalysisSettings) -> [(name: String, a: String, b: String)] {
        var out: [(String, String, String)] = []
        func check(_ name: String, _ x: String, _ y: String) { if x != y { out.append((name, x, y)) } }
        check("scope", a.scope.rawValue, b.scope.rawValue)
        check("by", a.grouping.rawValue, b.grouping.rawValue)
        check("period", a.period.rawValue, b.period.rawValue)
        check("tz", a.timeZone, b.timeZone)
        check("call_timeout_ms", String(a.callTimeout), String(b.callTimeout))
        check("lateness_ms", String(a.lateness), String(b.lateness))
        check("repeat_window_ms", String(a.repeatWindow), String(b.repeatWindow))
        check("chase_window_ms", String(a.chaseWindow), String(b.chaseWindow))
        check("retry_window_ms", String(a.retryWindow), String(b.retryWindow))
        check("short_abandon_ms", String(a.shortAbandon), String(b.shortAbandon))
        check("sl_threshold_ms", String(a.slThreshold), String(b.slThreshold))
        check("min_cell", String(a.minCell), String(b.minCell))
        check("format", a.format.rawValue, b.format.rawValue)
        func mapText(_ m: [String: String]?) -> String {
            guard let m else { return "(none)" }
            return "{" + m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "}"
        }
        check("reason_map", mapText(a.reasonMap), mapText(b.reasonMap))
        return out
    }

    /// Reads the `analyze` JSON files at `paths` and merges them (`merge(_:names:sources:)`):
    /// a file given twice, or two reports counting the same input, are refused.
    public static func merge(paths: [String]) throws -> Report {
        var reports: [Report] = [], sources: [ContentFingerprint] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ReportReader.Error(description: "\(path): cannot read the file")
            }
            sources.append(data.withUnsafeBytes { ContentFingerprint.of($0) })
            reports.append(try ReportReader.read(data: data, name: path))
        }
        return try merge(reports, names: paths, sources: sources)
    }

    /// Why `reports` must not be added together, if they must not: two of them are the
    /// same report (`sources`, the fingerprints of the files they were read from, are
    /// equal), or two count the same input, recognised by its content
    /// (`Report.inputFiles`), so that its figures would be added twice. Inputs from which
    /// no line was counted (empty, header only) are left out: identical empty days of two
    /// centres add nothing. Reports without content fingerprints (made before they were
    /// recorded) are judged by their bytes alone.
    static func duplicate(_ reports: [Report], names: [String], sources: [ContentFingerprint]?) -> String? {
        if let sources {
            var seen: [ContentFingerprint: Int] = [:]
            for (k, fp) in sources.enumerated() {
                if let j = seen[fp] {
                    return "cannot merge: \(names[j]) and \(names[k]) are the same report (identical bytes); its figures would be counted twice"
                }
                seen[fp] = k
            }
        }
        var counted: [ContentFingerprint: (report: Int, path: String)] = [:]
        for (k, r) in reports.enumerated() {
            for file in r.inputFiles where file.lines > 0 {
                guard let fp = file.content else { continue }
                if let first = counted[fp], first.report != k {
                    let same = first.path == file.path ? "\(file.path)" : "\(first.path) in the first, \(file.path) in the second"
                    return
                        "cannot merge: \(names[first.report]) and \(names[k]) both count the same input (\(same); content \(fp)); its figures would be counted twice"
                }
                if counted[fp] == nil { counted[fp] = (k, file.path) }
            }
        }
        return nil
    }

    /// The merge of `reports` (at least one), or an error naming the first setting that
    /// differs, else the two reports that would count the same input twice
    /// (`duplicate(_:names:sources:)`). `names` label the reports in messages (file
    /// names); `sources`, when given, are the fingerprints of the files they were read from.
    public static func merge(_ reports: [Report], names: [String], sources: [ContentFingerprint]? = nil) throws -> Report {
        precondition(!reports.isEmpty && reports.count == names.count)
        let first = reports[0]
        for (k, r) in reports.enumerated().dropFirst() {
            if let d = differences(first.settings, r.settings).first {
                throw UsageError("cannot merge: setting \(d.name) differs: \(names[0]) has \(d.a), \(names[k]) has \(d.b)")
            }
        }
        if let problem = duplicate(reports, names: names, sources: sources) { throw UsageError(problem) }
        if let (k, problem) = overflow(reports) { throw UsageError("cannot merge \(names[k]) with \(names[0]): \(problem)") }
        var merged = first
        for r in reports.dropFirst() { merged = merge(merged, r) }
        return merged
    }

    /// Why the counts of `reports` cannot be added up, if they cannot, with the index of the
    /// report that makes it so: one of them summed over every report (and every row) does
    /// not fit in an Int64. When none does, no sum
    /// `merge` or an accreditation of the merge makes can overflow, as every count is 0 or
    /// more (`ReportReader` refuses a report with a count below 0).
    static func overflow(_ reports: [Report]) -> (Int, String)? {
        var totals = ReportReader.CheckedTotals()
        for (k, r) in reports.enumerated() {
            let l = r.lines, c = r.calls
            for (name, v) in [
                ("lines", l.lines), ("late", l.late), ("skipped", l.skipped), ("lines.duplicates", l.duplicates),
                ("events", c.events), ("calls.duplicates", c.duplicates), ("contacts", c.contacts),
                ("incomplete", c.incomplete), ("conflicting", c.conflicting),
            ] {
                if let problem = totals.add(v, as: "accounting.\(name)") { return (k, problem) }
            }
            for (reason, v) in zip(RejectReason.allCases, l.rejected) {
                if let problem = totals.add(v, as: "accounting.rejected.\(reason.rawValue)") { return (k, problem) }
            }
            for (kind, v) in l.skippedKinds {
                if let problem = totals.add(v, as: "accounting.skipped.\(kind.rawValue)") { return (k, problem) }
            }
            for row in r.rows {
                for f in Counters.fields {
                    if let problem = totals.add(row.counters[keyPath: f.path], as: f.name) { return (k, problem) }
                }
            }
        }
        return nil
    }

    /// The merge of two reports with equal settings. Associative; `a`'s settings are kept.
    public static func merge(_ a: Report, _ b: Report) -> Report {
        var out = a
        out.inputs = a.inputs + b.inputs
        out.inputFiles = a.inputFiles + b.inputFiles
        switch (a.horizon, b.horizon) {
        case let (x?, y?): out.horizon = max(x, y)
        case let (x, y): out.horizon = x ?? y
        }
        out.lines.merge(b.lines)
        out.calls.merge(b.calls)
        out.rows = mergeRows(a.rows, b.rows)
        return out
    }

    /// Rows of both, summed where (centre, service, period) agree, in the writer's order.
    static func mergeRows(_ a: [Report.Row], _ b: [Report.Row]) -> [Report.Row] {
        struct Key: Hashable { var centre: String; var service: String?; var period: String }
        var sums: [Key: Report.Row] = [:]
        for row in a + b {
            let k = Key(centre: row.centre, service: row.service, period: row.period)
            if var existing = sums[k] {
                existing.counters.merge(row.counters)
                sums[k] = existing
            } else {
                sums[k] = row
            }
        }
        return sums.values.sorted(by: rowOrder)
    }

    /// (centre, service, period) compared as byte strings, as `Report.rows` sorts.
    static func rowOrder(_ x: Report.Row, _ y: Report.Row) -> Bool {
        if x.centre != y.centre { return x.centre.utf8.lexicographicallyPrecedes(y.centre.utf8) }
        if x.service != y.service { return (x.service ?? "").utf8.lexicographicallyPrecedes((y.service ?? "").utf8) }
        return x.period.utf8.lexicographicallyPrecedes(y.period.utf8)
    }
}
