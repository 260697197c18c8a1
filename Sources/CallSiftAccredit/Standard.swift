import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSift
import Foundation

/// The accreditation standard: what a centre must achieve, over which period, compared
/// with which peers. Read from a TOML file (`TOMLDocument`; `samples/standard.toml` is the
/// documented default; docs/accreditation.md describes every key).
public struct Standard: Sendable, Equatable {
    /// How a rate is compared with its threshold.
    public enum Comparison: String, Sendable, CaseIterable {
        case atLeast = ">=", atMost = "<=", above = ">", below = "<"

        /// Whether a higher rate is the better side.
        public var higherIsBetter: Bool { self == .atLeast || self == .above }

        /// Whether the value `v` satisfies `v <op> threshold`.
        public func holds(_ v: Double, _ threshold: Double) -> Bool {
            switch self {
            case .atLeast: v >= threshold
            case .atMost: v <= threshold
            case .above: v > threshold
            case .below: v < threshold
            }
        }
    }

    /// One measure's requirement, e.g. `fcr_rate >= 0.70`.
    public struct Threshold: Sendable, Equatable {
        public var measure: String
        public var comparison: Comparison
        public var value: Double
        public init(measure: String, comparison: Comparison, value: Double) {
            self.measure = measure; self.comparison = comparison; self.value = value
        }
        public var text: String { "\(measure) \(comparison.rawValue) \(Standard.decimal(value))" }
    }

    /// Inclusive range of local days (days since 1970-01-01 in the analysis time zone).
    public struct DayRange: Sendable, Equatable {
        public var from: Int64
        public var to: Int64
        public init(from: Int64, to: Int64) { self.from = from; self.to = to }
        public func contains(_ d: Int64) -> Bool { d >= from && d <= to }
        public var text: String { "\(Standard.dayText(from)) to \(Standard.dayText(to))" }
    }

    /// Centres compared with each other: those running every listed service, those
    /// named, or (neither given) every centre.
    public struct PeerGroup: Sendable, Equatable {
        public var name: String
        public var services: [String]
        public var centres: [String]
        public init(name: String, services: [String], centres: [String]) {
            self.name = name; self.services = services; self.centres = centres
        }

        public var criterion: String {
            if !centres.isEmpty { return "centres " + centres.joined(separator: ", ") }
            if !services.isEmpty { return "centres running " + services.joined(separator: " and ") }
            return "every centre"
        }
    }

    public var name = "Accreditation standard"
    public var thresholds: [Threshold] = []
    public var period: DayRange?
    public var baseline: DayRange?
    /// The aim for the baseline comparison: the fraction by which avoidable contact should
    /// fall (0.5 = halve it).
    public var targetReduction = 0.5
    /// The measure tracked against the baseline.
    public var baselineMeasure = "avoidable_rate"
    /// Rates with n below this are suppressed.
    public var minCell: Int64 = 10
    public var peerGroups: [PeerGroup] = []

    public init() {}

    /// The measures a threshold may name: the rates `analyze` computes.
    public static let measures = ["fcr_rate", "avoidable_rate", "repeat_rate", "abandon_rate", "service_level", "transfer_rate"]

    /// Reads a standard file.
    public static func load(path: String) throws -> Standard {
        guard let data = FileManager.default.contents(atPath: path) else { throw UsageError("--standard: cannot read \(path)") }
        do { return try parse(String(decoding: data, as: UTF8.self)) } catch let e as UsageError {
            throw UsageError("\(path): \(e.description)")
        }
    }

    /// Parses a standard file's text. Errors name the line and key.
    public static func parse(_ text: String) throws -> Standard {
        let doc: TOMLTable
        do { doc = try TOMLDocument.parse(text) } catch let e as TOMLError { throw UsageError(e.description) }
        var s = Standard()
        let known: Set = ["name", "min_cell", "thresholds", "period", "baseline", "peer_group"]
        for key in doc.keys where !known.contains(key) {
            throw UsageError("line \(doc.lines[key] ?? 0): unknown key '\(key)' (expected one of \(known.sorted().joined(separator: ", ")))")
        }
        func line(_ t: TOMLTable, _ k: String) -> String { "line \(t.lines[k] ?? 0)" }
        if let v = doc["name"] {
            guard let n = v.string else { throw UsageError("\(line(doc, "name")): name must be a string") }
            s.name = n
        }
        if let v = doc["min_cell"] {
            guard case .integer(let n) = v, n >= 0 else { throw UsageError("\(line(doc, "min_cell")): min_cell must be a whole number, 0 or more") }
            s.minCell = n
        }
        guard let th = doc["thresholds"]?.table else { throw UsageError("the standard needs a [thresholds] table, e.g. fcr_rate = \">= 0.70\"") }
        for (measure, v) in th.entries {
            guard measures.contains(measure) else {
                throw UsageError("\(line(th, measure)): unknown measure '\(measure)' (one of \(measures.joined(separator: ", ")))")
            }
            guard let text = v.string, let t = parseThreshold(measure: measure, text) else {
                throw UsageError("\(line(th, measure)): \(measure) must be a string such as \">= 0.70\" (>=, <=, > or <, then a rate from 0 to 1)")
            }
            s.thresholds.append(t)
        }
        if let v = doc["period"] {
            guard let t = v.table else { throw UsageError("\(line(doc, "period")): period must be a [period] table with from and to") }
            s.period = try dayRange(t, "period")
        }
        if let v = doc["baseline"] {
            guard let t = v.table else { throw UsageError("\(line(doc, "baseline")): baseline must be a [baseline] table with from and to") }
            s.baseline = try dayRange(t, "baseline")
            for key in t.keys where !["from", "to", "target_reduction", "measure"].contains(key) {
                throw UsageError("\(line(t, key)): unknown key '\(key)' in [baseline]")
            }
            if let r = t["target_reduction"] {
                guard let d = r.number, d > 0, d <= 1 else {
                    throw UsageError("\(line(t, "target_reduction")): target_reduction must be a fraction above 0 and at most 1 (0.5 = halve)")
                }
                s.targetReduction = d
            }
            if let m = t["measure"] {
                guard let name = m.string, measures.contains(name) else {
                    throw UsageError("\(line(t, "measure")): measure must be one of \(measures.joined(separator: ", "))")
                }
                s.baselineMeasure = name
            }
            if let p = s.period, let b = s.baseline, b.to >= p.from && b.from <= p.to {
                throw UsageError("\(line(t, "from")): the baseline (\(b.text)) overlaps the reporting period (\(p.text))")
            }
        }
        if let v = doc["peer_group"] {
            guard case .array(let items) = v else { throw UsageError("\(line(doc, "peer_group")): peer groups are written [[peer_group]]") }
            for item in items {
                guard let t = item.table else { throw UsageError("\(line(doc, "peer_group")): peer groups are written [[peer_group]]") }
                for key in t.keys where !["name", "services", "centres"].contains(key) {
                    throw UsageError("\(line(t, key)): unknown key '\(key)' in [[peer_group]] (name, services, centres)")
                }
                guard let name = t["name"]?.string, !name.isEmpty else {
                    throw UsageError("line \(t.lines.values.min() ?? 0): every [[peer_group]] needs a name")
                }
                func strings(_ k: String) throws -> [String] {
                    guard let v = t[k] else { return [] }
                    guard case .array(let a) = v, let list = Optional(a.compactMap(\.string)), list.count == a.count else {
                        throw UsageError("\(line(t, k)): \(k) must be an array of strings")
                    }
                    return list
                }
                let g = PeerGroup(name: name, services: try strings("services"), centres: try strings("centres"))
                if !g.services.isEmpty && !g.centres.isEmpty {
                    throw UsageError("\(line(t, "centres")): peer group '\(name)' gives both services and centres; give one")
                }
                if s.peerGroups.contains(where: { $0.name == name }) { throw UsageError("\(line(t, "name")): two peer groups are named '\(name)'") }
                s.peerGroups.append(g)
            }
        }
        return s
    }

    static func parseThreshold(measure: String, _ text: String) -> Threshold? {
        let t = text.trimmingCharacters(in: .whitespaces)
        for op in [Comparison.atLeast, .atMost, .above, .below] where t.hasPrefix(op.rawValue) {
            let rest = t.dropFirst(op.rawValue.count).trimmingCharacters(in: .whitespaces)
            guard let v = Double(rest), v >= 0, v <= 1 else { return nil }
            return Threshold(measure: measure, comparison: op, value: v)
        }
        return nil
    }

    static func dayRange(_ t: TOMLTable, _ table: String) throws -> DayRange {
        func day(_ k: String) throws -> Int64 {
            guard let s = t[k]?.string, let d = parseDay(s) else {
                throw UsageError("line \(t.lines[k] ?? t.lines.values.min() ?? 0): [\(table)] needs \(k) = \"YYYY-MM-DD\" (a quoted date)")
            }
            return d
        }
        let r = DayRange(from: try day("from"), to: try day("to"))
        guard r.from <= r.to else { throw UsageError("line \(t.lines["to"] ?? 0): [\(table)] ends before it starts") }
        return r
    }

    /// `YYYY-MM-DD` → days since 1970-01-01, or nil.
    public static func parseDay(_ s: String) -> Int64? {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int64(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), d >= 1, d <= CivilDate.daysInMonth(year: y, month: m)
        else { return nil }
        return CivilDate.daysFromCivil(year: y, month: Int64(m), day: Int64(d))
    }

    public static func dayText(_ d: Int64) -> String { Period.day.label(ofDay: Int32(d)) }

    /// The shortest decimal for a threshold (`0.7`, not `0.7000000000000001`).
    static func decimal(_ v: Double) -> String {
        var s = String(v)
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }

    /// The first and last local day of a row's period label, or nil for `all`.
    ///
    /// Labels are those `Period.label(ofDay:)` prints: `2026-03-02`, `2026-W10`,
    /// `2026-03`, `2026-Q1`, `2026-27 Q1`.
    public static func span(ofLabel label: String, period: Period) -> DayRange? {
        let b = Array(label.utf8)
        func num(_ r: Range<Int>) -> Int64? {
            guard r.upperBound <= b.count, r.allSatisfy({ b[$0] >= 0x30 && b[$0] <= 0x39 }) else { return nil }
            return Int64(String(decoding: b[r], as: UTF8.self))
        }
        func month(_ y: Int64, _ m: Int64) -> (Int64, Int64) {
            let first = CivilDate.daysFromCivil(year: y, month: m, day: 1)
            return (first, first + Int64(CivilDate.daysInMonth(year: y, month: Int(m))) - 1)
        }
        switch period {
        case .day:
            guard let d = parseDay(label) else { return nil }
            return DayRange(from: d, to: d)
        case .week:
            guard b.count == 8, let y = num(0..<4), let w = num(6..<8) else { return nil }
            // ISO week 1 is the week holding 4 January; weeks start on Monday.
            let jan4 = CivilDate.daysFromCivil(year: y, month: 1, day: 4)
            let weekday = ((jan4 + 3) % 7 + 7) % 7  // 1970-01-01 was a Thursday; Monday = 0
            let monday = jan4 - weekday + 7 * (w - 1)
            return DayRange(from: monday, to: monday + 6)
        case .month:
            guard b.count == 7, let y = num(0..<4), let m = num(5..<7), (1...12).contains(m) else { return nil }
            let (f, l) = month(y, m)
            return DayRange(from: f, to: l)
        case .quarter:
            guard b.count == 7, let y = num(0..<4), let q = num(6..<7), (1...4).contains(q) else { return nil }
            return DayRange(from: month(y, 3 * q - 2).0, to: month(y, 3 * q).1)
        case .fyquarter:
            guard b.count == 10, let y = num(0..<4), let q = num(9..<10), (1...4).contains(q) else { return nil }
            // Q1 = April–June of year y, ..., Q4 = January–March of y + 1.
            let (sy, sm) = q == 4 ? (y + 1, Int64(1)) : (y, 3 * q + 1)
            return DayRange(from: month(sy, sm).0, to: month(sy, sm + 2).1)
        case .all:
            return nil
        }
    }
}
