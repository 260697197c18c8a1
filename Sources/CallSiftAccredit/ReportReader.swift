import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSift
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
        let file: ReportJSON
        do {
            file = try JSONDecoder().decode(ReportJSON.self, from: data)
        } catch let e as DecodingError {
            throw fail(Self.describe(e))
        } catch let e as Error {
            throw fail(e.description)
        }
        let config = file.config
        var s = AnalysisSettings()
        s.format = config.format
        s.scope = config.scope
        s.grouping = config.by
        s.period = config.period
        s.timeZone = config.tz
        s.callTimeout = config.call_timeout_ms
        s.lateness = config.lateness_ms
        s.repeatWindow = config.repeat_window_ms
        s.chaseWindow = config.chase_window_ms
        s.retryWindow = config.retry_window_ms
        s.shortAbandon = config.short_abandon_ms
        s.slThreshold = config.sl_threshold_ms
        s.minCell = config.min_cell
        s.reasonMap = config.reason_map
        // Settings no run gives (a negative window) are no analyze output's.
        if let problem = s.problem() { throw fail("config: settings that no run gives (\(problem))") }
        // Absent from reports made before content fingerprints were recorded.
        var inputFiles: [Report.InputFile] = []
        for (k, f) in (config.input_files ?? []).enumerated() {
            var content: ContentFingerprint?
            if let text = f.content {
                guard let fp = ContentFingerprint(text) else { throw fail("config.input_files[\(k)]: \"content\" is not a content fingerprint") }
                content = fp
            }
            inputFiles.append(Report.InputFile(path: f.file, content: content, lines: f.lines))
        }

        var horizon: Int64?
        if let text = file.horizon {
            var bytes = Array(text.utf8)
            horizon = bytes.withUnsafeMutableBytes { Timestamp.parse(UnsafeRawBufferPointer($0)) }
            guard horizon != nil else { throw fail("\"horizon\" is not an RFC 3339 time") }
        }

        // Every count is a count (0 or more), and the counts that `accredit` and `merge`
        // add up fit in an Int64 (`CheckedTotals`): a report that claims otherwise is
        // damaged or not analyze's, and is refused rather than added up.
        let a = file.accounting
        var totals = CheckedTotals()
        for (what, v) in [
            ("lines", a.lines), ("events", a.events), ("duplicates", a.duplicates), ("late", a.late),
            ("skipped", a.skipped), ("rejected_total", a.rejected_total), ("calls.contacts", a.calls.contacts),
            ("calls.incomplete", a.calls.incomplete), ("calls.conflicting", a.calls.conflicting),
        ] {
            if let problem = totals.add(v, as: "accounting.\(what)") { throw fail(problem) }
        }
        var lines = LineAccounting()
        lines.lines = a.lines
        lines.late = a.late
        lines.skipped = a.skipped
        var rejectedSum = CheckedTotals()
        for (reason, n) in a.rejected.sorted(by: { $0.key < $1.key }) {
            guard let r = RejectReason(rawValue: reason) else { throw fail("accounting: unknown reject reason '\(reason)'") }
            if let problem = totals.add(n, as: "accounting.rejected.\(reason)") ?? rejectedSum.add(n, as: "rejected_total") {
                throw fail("accounting: \(problem)")
            }
            lines.rejected[LineAccounting.index(r)] = n
        }
        guard lines.rejectedTotal == a.rejected_total else { throw fail("accounting: rejected_total is not the sum of rejected") }
        if let kinds = a.skipped_kinds {
            var skippedSum = CheckedTotals()
            for (name, n) in kinds.sorted(by: { $0.key < $1.key }) {
                guard let kind = FormatRegistry.skipKind(named: name) else { throw fail("accounting: unknown skip kind '\(name)'") }
                if let problem = totals.add(n, as: "accounting.skipped_kinds.\(name)") ?? skippedSum.add(n, as: "skipped") {
                    throw fail("accounting: \(problem)")
                }
                if n > 0 { lines.skippedKinds[kind] = n }
            }
            guard skippedSum.sums["skipped", default: 0] == a.skipped else { throw fail("accounting: skipped is not the sum of skipped_kinds") }
        }
        // The identity every run's accounting keeps (docs/metrics.md, "Accounting").
        var accounted: Int64 = 0
        for v in [a.events, a.duplicates, a.rejected_total, a.late, a.skipped] {
            let (sum, overflow) = accounted.addingReportingOverflow(v)
            guard !overflow else { throw fail("accounting: the lines accounted for add up to more than \(Int64.max)") }
            accounted = sum
        }
        guard accounted == a.lines else {
            throw fail("accounting: lines (\(a.lines)) is not events + duplicates + rejected_total + late + skipped (\(accounted))")
        }
        var calls = CallAccounting()
        calls.events = a.events
        calls.duplicates = a.duplicates
        calls.contacts = a.calls.contacts
        calls.incomplete = a.calls.incomplete
        calls.conflicting = a.calls.conflicting
        calls.horizon = horizon ?? .min

        var rows: [Report.Row] = []
        rows.reserveCapacity(file.rows.count)
        var seen = Set<[String?]>()
        for (k, r) in file.rows.enumerated() {
            if (r.service == nil) != (config.by == .centre) {
                throw fail("rows[\(k)]: \"service\" must be present exactly when config.by is \"service\"")
            }
            guard Self.isLabel(r.period, of: config.period) else {
                throw fail("rows[\(k)]: \"period\" '\(r.period)' is not a label of config.period (\(config.period.rawValue))")
            }
            guard seen.insert([r.centre, r.service, r.period]).inserted else {
                throw fail("rows[\(k)]: a second row for \(r.centre)\(r.service.map { " / \($0)" } ?? "") in \(r.period)")
            }
            for f in Counters.fields {
                if let problem = totals.add(r.counters[keyPath: f.path], as: f.name) { throw fail("rows[\(k)]: \(problem)") }
            }
            if let problem = Self.inconsistency(r.counters) { throw fail("rows[\(k)]: \(problem)") }
            rows.append(Report.Row(centre: r.centre, service: r.service, period: r.period, counters: r.counters))
        }
        // Each contact is counted in one row (docs/metrics.md, "Output"), so the rows'
        // contacts are the accounting's.
        let rowContacts = totals.sums["contacts", default: 0]
        guard rowContacts == a.calls.contacts else {
            throw fail("rows: their contacts add up to \(rowContacts), not to accounting.calls.contacts (\(a.calls.contacts))")
        }
        var report = Report(settings: s, inputs: config.inputs, horizon: horizon, lines: lines, calls: calls, rows: rows)
        report.inputFiles = inputFiles
        return report
    }

    /// Whether `label` is the label `period` gives its span (`Period.label(ofDay:)`), in
    /// that form: `2026-03-02` for a day, `2026-W10` for a week, `all` for everything.
    static func isLabel(_ label: String, of period: Period) -> Bool {
        if period == .all { return label == "all" }
        guard let span = Standard.span(ofLabel: label, period: period), let first = Int32(exactly: span.from) else { return false }
        return period.label(ofDay: first) == label
    }

    /// The first way a row's counters contradict each other as no run's can
    /// (docs/metrics.md, "Output"): each contact is one of handled, abandoned and blocked,
    /// and counted at most once in each other count; every avoidable contact is of one
    /// class; a short abandon is an abandon, an answer within the threshold an answer, a
    /// resolved FCR verdict an eligible one. (Transfers are not bounded by handled: an
    /// unanswered call can be transferred.)
    static func inconsistency(_ c: Counters) -> String? {
        /// The sum, or nil when it overflows (then it is more than any count).
        func sum(_ vs: Int64...) -> Int64? {
            var total: Int64 = 0
            for v in vs {
                let (t, overflow) = total.addingReportingOverflow(v)
                if overflow { return nil }
                total = t
            }
            return total
        }
        for (name, v) in [
            ("identified", c.identified), ("handled", c.handled), ("abandoned", c.abandoned), ("blocked", c.blocked),
            ("transferred", c.transferred), ("avoidable", c.avoidable),
            ("handled + abandoned + blocked", sum(c.handled, c.abandoned, c.blocked)),
        ] where v.map({ $0 > c.contacts }) ?? true {
            return "\(name) (\(v.map { "\($0)" } ?? "more than \(Int64.max)")) is more than contacts (\(c.contacts))"
        }
        guard let classes = sum(c.progressChase, c.repeats, c.retry, c.misdirected, c.clarification), classes == c.avoidable else {
            return "avoidable (\(c.avoidable)) is not the sum of its classes"
        }
        guard c.shortAbandoned <= c.abandoned else { return "short_abandoned is more than abandoned" }
        guard c.answeredInSL <= c.handled else { return "answered_in_sl is more than handled" }
        guard c.fcr <= c.fcrEligible else { return "fcr is more than fcr_eligible" }
        return nil
    }

    /// Counts by name, added up with a check: each must be 0 or more, and their sum (over a
    /// report's rows, or over the reports `merge` adds up) must fit in an Int64, so that no
    /// sum of them that callsift makes can overflow.
    struct CheckedTotals {
        private(set) var sums: [String: Int64] = [:]

        /// Adds `v` to the total of `name`; a message when it is no count or the total
        /// overflows.
        mutating func add(_ v: Int64, as name: String) -> String? {
            guard v >= 0 else { return "\"\(name)\" is \(v), not a count" }
            let (sum, overflow) = sums[name, default: 0].addingReportingOverflow(v)
            guard !overflow else { return "the \"\(name)\" counts add up to more than \(Int64.max)" }
            sums[name] = sum
            return nil
        }
    }

    /// Where in the JSON a decoding error lies and what is wrong, as `rows[3]: "fcr" is
    /// missing`.
    static func describe(_ e: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            var out = ""
            for k in keys {
                if let i = k.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + k.stringValue }
            }
            return out
        }
        func at(_ keys: [CodingKey]) -> String { keys.isEmpty ? "" : path(keys) + ": " }
        switch e {
        case .keyNotFound(let key, let c):
            let hint = c.codingPath.isEmpty && key.stringValue == "config" ? " (not callsift analyze output)" : ""
            return "\(at(c.codingPath))\"\(key.stringValue)\" is missing\(hint)"
        case .typeMismatch(let type, let c):
            return "\(at(Array(c.codingPath.dropLast())))\"\(c.codingPath.last?.stringValue ?? "")\" is not \(Self.name(of: type))"
        case .valueNotFound(let type, let c):
            return "\(at(Array(c.codingPath.dropLast())))\"\(c.codingPath.last?.stringValue ?? "")\" is null, expected \(Self.name(of: type))"
        case .dataCorrupted(let c):
            if c.codingPath.isEmpty { return "not valid JSON (\(c.debugDescription))" }
            return "\(at(Array(c.codingPath.dropLast())))\"\(c.codingPath.last?.stringValue ?? "")\": \(c.debugDescription)"
        @unknown default:
            return "\(e)"
        }
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is Int64.Type: "an integer"
        case is String.Type: "a string"
        case is [Any].Type: "an array"
        default: "of the expected type (\(type))"
        }
    }
}

/// The parts of `analyze`'s JSON that a report is rebuilt from (rates and averages are
/// recomputed from the counters, as the writer derives them). Keys are the JSON's own.
private struct ReportJSON: Decodable {
    struct Config: Decodable {
        var inputs: [String]
        var input_files: [InputFile]?
        var format: AnalysisSettings.InputFormat
        var scope: AnalysisSettings.Scope
        var by: AnalysisSettings.Grouping
        var period: Period
        var tz: String
        var call_timeout_ms: Int64
        var lateness_ms: Int64
        var repeat_window_ms: Int64
        var chase_window_ms: Int64
        var retry_window_ms: Int64
        var short_abandon_ms: Int64
        var sl_threshold_ms: Int64
        var min_cell: Int64
        var reason_map: [String: String]?
    }
    struct InputFile: Decodable {
        var file: String
        var content: String?
        var lines: Int64
    }
    struct Accounting: Decodable {
        struct Calls: Decodable {
            var contacts: Int64
            var incomplete: Int64
            var conflicting: Int64
        }
        var lines: Int64
        var events: Int64
        var duplicates: Int64
        var late: Int64
        var skipped: Int64
        var skipped_kinds: [String: Int64]?
        var rejected_total: Int64
        var rejected: [String: Int64]
        var calls: Calls
    }
    /// A row: its labels and every counter (`Counters.fields`, by their JSON names).
    struct Row: Decodable {
        var centre: String
        var service: String?
        var period: String
        var counters = Counters()

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            centre = try c.decode(String.self, forKey: Key(stringValue: "centre"))
            service = try c.decodeIfPresent(String.self, forKey: Key(stringValue: "service"))
            period = try c.decode(String.self, forKey: Key(stringValue: "period"))
            for f in Counters.fields { counters[keyPath: f.path] = try c.decode(WholeNumber.self, forKey: Key(stringValue: f.name)).value }
        }
    }
    /// An integer that, when it is some other number, says so where it is (Foundation
    /// reports a number that does not fit as invalid JSON, with no place).
    struct WholeNumber: Decodable {
        var value: Int64
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            do {
                value = try c.decode(Int64.self)
            } catch {
                guard let d = try? c.decode(Double.self) else { throw error }
                throw DecodingError.typeMismatch(Int64.self, .init(codingPath: decoder.codingPath, debugDescription: "\(d)"))
            }
        }
    }
    var config: Config
    var horizon: String?
    var accounting: Accounting
    var rows: [Row]
}

extension AnalysisSettings.InputFormat: Decodable {}
extension AnalysisSettings.Scope: Decodable {}
extension AnalysisSettings.Grouping: Decodable {}
extension Period: Decodable {}
