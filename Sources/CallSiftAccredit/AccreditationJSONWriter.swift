import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSift
import Foundation

/// A small ordered JSON tree with a fixed, byte-stable layout (two-space indentation,
/// keys in the order given, doubles as the shortest decimal that reads back the same).
enum JSONNode {
    case object([(String, JSONNode)])
    case array([JSONNode])
    case string(String)
    case int(Int64)
    case double(Double?)
    case bool(Bool)
    case null

    /// Arrays of scalars and objects of scalars stay on one line.
    var isFlat: Bool {
        switch self {
        case .object(let kv): kv.allSatisfy { $0.1.isScalar }
        case .array(let items): items.allSatisfy(\.isScalar)
        default: true
        }
    }

    var isScalar: Bool {
        switch self {
        case .object, .array: false
        default: true
        }
    }

    func render(indent: Int = 0, into o: inout String) {
        let pad = String(repeating: "  ", count: indent + 1), closePad = String(repeating: "  ", count: indent)
        switch self {
        case .string(let s): o += JSONReportWriter.quote(s)
        case .int(let i): o += String(i)
        case .double(let d): o += JSONReportWriter.number(d)
        case .bool(let b): o += b ? "true" : "false"
        case .null: o += "null"
        case .array(let items):
            if items.isEmpty { o += "[]"; return }
            if isFlat {
                o += "["
                for (k, item) in items.enumerated() { if k > 0 { o += ", " }; item.render(into: &o) }
                o += "]"
                return
            }
            o += "[\n"
            for (k, item) in items.enumerated() {
                o += pad
                item.render(indent: indent + 1, into: &o)
                o += k == items.count - 1 ? "\n" : ",\n"
            }
            o += closePad + "]"
        case .object(let kv):
            if kv.isEmpty { o += "{}"; return }
            if isFlat && kv.count <= 12 {
                o += "{"
                for (k, (key, v)) in kv.enumerated() { if k > 0 { o += ", " }; o += JSONReportWriter.quote(key) + ": "; v.render(into: &o) }
                o += "}"
                return
            }
            o += "{\n"
            for (k, (key, v)) in kv.enumerated() {
                o += pad + JSONReportWriter.quote(key) + ": "
                v.render(indent: indent + 1, into: &o)
                o += k == kv.count - 1 ? "\n" : ",\n"
            }
            o += closePad + "}"
        }
    }
}

/// Writes an `Accreditation` as JSON: every judgement, interval, control limit and
/// baseline comparison, for machines. The layout is described in docs/accreditation.md.
public enum AccreditationJSONWriter {
    public static func render(_ a: Accreditation) -> String {
        var o = ""
        node(a).render(into: &o)
        return o + "\n"
    }

    static func range(_ r: Standard.DayRange?) -> JSONNode {
        guard let r else { return .null }
        return .object([("from", .string(Standard.dayText(r.from))), ("to", .string(Standard.dayText(r.to)))])
    }

    static func judgement(_ j: Judgement, _ t: Standard.Threshold) -> [(String, JSONNode)] {
        [
            ("measure", .string(j.measure)), ("comparison", .string(t.comparison.rawValue)), ("threshold", .double(t.value)),
            ("x", .int(j.x)), ("n", .int(j.n)), ("value", .double(j.value)), ("lo", .double(j.lo)), ("hi", .double(j.hi)),
            ("verdict", .string(j.verdict.key)),
        ]
    }

    static func baseline(_ b: BaselineComparison?) -> JSONNode {
        guard let b else { return .null }
        return .object([
            ("period", .object([("x", .int(b.periodX)), ("n", .int(b.periodN)), ("value", .double(b.periodRate))])),
            ("baseline", .object([("x", .int(b.baselineX)), ("n", .int(b.baselineN)), ("value", .double(b.baselineRate))])),
            ("rate_ratio", .object([("value", .double(b.ratio)), ("lo", .double(b.ratioLo)), ("hi", .double(b.ratioHi))])),
            ("relative_reduction", .object([("value", .double(b.reduction)), ("lo", .double(b.reductionLo)), ("hi", .double(b.reductionHi))])),
            ("progress_to_aim", .object([("value", .double(b.progress)), ("lo", .double(b.progressLo)), ("hi", .double(b.progressHi))])),
            ("verdict", .string(b.verdict.key)),
        ])
    }

    static func node(_ a: Accreditation) -> JSONNode {
        let s = a.standard, st = a.settings
        let standard: JSONNode = .object([
            ("name", .string(s.name)),
            ("period", range(s.period)),
            ("baseline", range(s.baseline)),
            ("baseline_measure", .string(s.baselineMeasure)),
            ("target_reduction", .double(s.targetReduction)),
            ("min_cell", .int(s.minCell)),
            (
                "thresholds",
                .array(
                    s.thresholds.map {
                        .object([("measure", .string($0.measure)), ("comparison", .string($0.comparison.rawValue)), ("value", .double($0.value))])
                    })
            ),
        ])
        var analysis: [(String, JSONNode)] = [
            ("inputs", .array(a.inputs.map { .string($0) })),
            ("horizon", a.horizon.map { .string(Timestamp.format(millis: $0)) } ?? .null),
            ("scope", .string(st.scope.rawValue)), ("by", .string(st.grouping.rawValue)),
            ("period", .string(st.period.rawValue)), ("tz", .string(st.timeZone)),
            ("repeat_window_ms", .int(st.repeatWindow)), ("chase_window_ms", .int(st.chaseWindow)),
            ("retry_window_ms", .int(st.retryWindow)), ("short_abandon_ms", .int(st.shortAbandon)),
            ("sl_threshold_ms", .int(st.slThreshold)), ("call_timeout_ms", .int(st.callTimeout)),
            ("lateness_ms", .int(st.lateness)),
        ]
        let map = (st.reasonMap ?? [:]).sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        analysis.append(("reason_map", st.reasonMap == nil ? .null : .object(map.map { ($0.key, .string($0.value)) })))
        let method: JSONNode = .object([
            ("interval", .string("wilson score, 95%")), ("z", .double(Wilson.z)),
            ("funnel_limits", .string("wilson score around the pooled rate (Spiegelhalter 2005; PHE/OHID Fingertips)")),
            ("z95", .double(FunnelLimits.z95)), ("z998", .double(FunnelLimits.z998)),
            ("baseline_interval", .string("rate ratio with log-scale (Katz) interval")),
        ])
        let centres: JSONNode = .array(
            a.centres.map { c in
                .object([
                    ("centre", .string(c.centre)),
                    ("services", .array(c.services.map { .string($0) })),
                    ("contacts", .int(c.contacts)),
                    ("status", .string(c.status.key)),
                    ("judgements", .array(zip(c.judgements, s.thresholds).map { .object(judgement($0, $1)) })),
                    ("baseline", baseline(c.baseline)),
                ])
            })
        let groups: JSONNode = .array(
            a.groups.map { g in
                .object([
                    ("name", .string(g.group.name)),
                    ("criterion", .string(g.group.criterion)),
                    ("centres", .array(g.centres.map { .string($0) })),
                    (
                        "measures",
                        .array(
                            g.funnels.map { f in
                                .object([
                                    ("measure", .string(f.measure)),
                                    ("pooled", .object([("x", .int(f.pooledX)), ("n", .int(f.pooledN)), ("value", .double(f.pooled))])),
                                    ("dispersion", .double(f.dispersion)),
                                    ("overdispersed", .bool(f.overdispersed)),
                                    ("suppressed", .array(f.suppressed.map { .string($0) })),
                                    (
                                        "league",
                                        .array(
                                            f.points.map { p in
                                                .object([
                                                    ("rank", .int(Int64(p.rank))), ("centre", .string(p.centre)),
                                                    ("x", .int(p.judgement.x)), ("n", .int(p.judgement.n)),
                                                    ("value", .double(p.judgement.value)), ("lo", .double(p.judgement.lo)), ("hi", .double(p.judgement.hi)),
                                                    ("limit95", .object([("lo", .double(p.limit95.lo)), ("hi", .double(p.limit95.hi))])),
                                                    ("limit998", .object([("lo", .double(p.limit998.lo)), ("hi", .double(p.limit998.hi))])),
                                                    ("position", .string(p.position.key)),
                                                    ("better", p.better.map { .bool($0) } ?? .null),
                                                    ("verdict", .string(p.judgement.verdict.key)),
                                                ])
                                            })
                                    ),
                                ])
                            })
                    ),
                ])
            })
        return .object([
            ("standard", standard),
            ("analysis", .object(analysis)),
            ("method", method),
            (
                "summary",
                .object([
                    ("centres", .int(Int64(a.centres.count))),
                    ("accredited", .int(Int64(a.centres.filter { $0.status == .accredited }.count))),
                    ("not_accredited", .int(Int64(a.centres.filter { $0.status == .notAccredited }.count))),
                    ("not_yet_decided", .int(Int64(a.centres.filter { $0.status == .notYetDecided }.count))),
                ])
            ),
            ("centres", centres),
            ("peer_groups", groups),
            ("baseline", baseline(a.overallBaseline)),
            ("notes", .array(a.notes.map { .string($0) })),
        ])
    }
}

/// Writes the league tables of an `Accreditation` as CSV, one row per peer group,
/// measure and published centre, best first.
public enum AccreditationCSVWriter {
    public static let header = "group,measure,threshold,rank,centre,x,n,value,lo,hi,pooled,limit95_lo,limit95_hi,limit998_lo,limit998_hi,position,verdict"

    public static func render(_ a: Accreditation) -> String {
        var o = header + "\n"
        func num(_ d: Double?) -> String { d.map { JSONReportWriter.number($0) } ?? "" }
        for g in a.groups {
            for f in g.funnels {
                for p in f.points {
                    let fields = [
                        field(g.group.name), field(f.measure), field(f.threshold.comparison.rawValue + " " + Standard.decimal(f.threshold.value)),
                        String(p.rank), field(p.centre), String(p.judgement.x), String(p.judgement.n),
                        num(p.judgement.value), num(p.judgement.lo), num(p.judgement.hi), num(f.pooled),
                        num(p.limit95.lo), num(p.limit95.hi), num(p.limit998.lo), num(p.limit998.hi),
                        p.position.key, p.judgement.verdict.key,
                    ]
                    o += fields.joined(separator: ",") + "\n"
                }
            }
        }
        return o
    }

    /// RFC 4180: quoted when it holds a comma, quote or line break.
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
