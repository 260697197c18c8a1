import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSift
import Foundation

/// Everything `callsift accredit` reports, computed once from an `analyze` report and a
/// standard; the writers in Output/ only format it.
///
/// - Per centre and measure: the rate over the reporting period with its 95% Wilson
///   interval, judged against the threshold (`Judgement`).
/// - Per peer group and measure: the funnel (pooled rate, control limits, centres outside
///   them) and the league table.
/// - Per centre and overall: the baseline comparison of avoidable contact.
public struct Accreditation: Sendable {
    public enum Status: String, Sendable {
        case accredited = "accredited"
        case notAccredited = "not accredited"
        case notYetDecided = "not yet decided"

        public var key: String { rawValue.replacingOccurrences(of: " ", with: "_") }
    }

    public struct CentreResult: Sendable {
        public var centre: String
        /// Services with contacts in the period (empty when analysed `--by centre`).
        public var services: [String]
        /// One per threshold, in the standard's order.
        public var judgements: [Judgement]
        public var status: Status
        public var baseline: BaselineComparison?
        public var contacts: Int64
    }

    /// One centre on one funnel.
    public struct FunnelPoint: Sendable {
        public var centre: String
        public var judgement: Judgement
        /// Control limits at this centre's n.
        public var limit95: (lo: Double, hi: Double)
        public var limit998: (lo: Double, hi: Double)
        public var position: FunnelLimits.Position
        /// 1 = best, by the threshold's direction; ties share the order of centre names.
        public var rank: Int
        /// Whether its side of the pooled rate is the better one (nil when within limits).
        public var better: Bool?
    }

    public struct Funnel: Sendable {
        public var measure: String
        public var threshold: Standard.Threshold
        public var pooledX: Int64
        public var pooledN: Int64
        public var pooled: Double?
        /// Published centres (n ≥ min cell), best first.
        public var points: [FunnelPoint]
        /// Centres of the group left out because their n is below the minimum cell.
        public var suppressed: [String]
        public var dispersion: Double?
        /// Whether φ exceeds 1 + 2·√(2/k), the rough upper limit for chance alone.
        public var overdispersed: Bool
    }

    public struct GroupResult: Sendable {
        public var group: Standard.PeerGroup
        public var centres: [String]
        public var funnels: [Funnel]
    }

    public var standard: Standard
    public var settings: AnalysisSettings
    public var inputs: [String]
    public var horizon: Int64?
    public var centres: [CentreResult]
    public var groups: [GroupResult]
    /// Over every centre: the baseline comparison of the whole population.
    public var overallBaseline: BaselineComparison?
    /// Things a reader must know to read the figures right.
    public var notes: [String]

    public var periodText: String { standard.period?.text ?? "all the data in the inputs" }

    /// Judges every centre of `report` against `standard`.
    ///
    /// - Throws: `UsageError` when the report's rows cannot be placed in the reporting
    ///   period or baseline (a row's period straddles a boundary, or `--period all`), or
    ///   a peer group needs services that a `--by centre` report does not have.
    public init(report: Report, standard: Standard) throws {
        self.standard = standard
        self.settings = report.settings
        self.inputs = report.inputs
        self.horizon = report.horizon
        var notes: [String] = []
        if standard.baseline != nil && standard.period == nil {
            throw UsageError("the standard has a [baseline] but no [period]; give both")
        }

        // Sum each centre's rows in the period and in the baseline.
        var period: [String: Counters] = [:]
        var baseline: [String: Counters] = [:]
        var services: [String: Set<String>] = [:]
        var firstDay = Int64.max
        for row in report.rows {
            let span = Standard.span(ofLabel: row.period, period: report.settings.period)
            if let span { firstDay = min(firstDay, span.from) }
            func place(_ range: Standard.DayRange?, _ name: String) throws -> Bool {
                guard let range else { return true }
                guard let span else {
                    throw UsageError("row period '\(row.period)' cannot be placed in the \(name) (\(range.text)); analyse with --period day, week or month")
                }
                if span.from >= range.from && span.to <= range.to { return true }
                if span.to < range.from || span.from > range.to { return false }
                throw UsageError("row period \(row.period) straddles the \(name) (\(range.text)); analyse with a finer --period (day fits any range)")
            }
            if try place(standard.period, "reporting period") {
                period[row.centre, default: .zero].merge(row.counters)
                if let s = row.service, row.counters.contacts > 0 { services[row.centre, default: []].insert(s) }
            }
            if let b = standard.baseline, try place(b, "baseline") {
                baseline[row.centre, default: .zero].merge(row.counters)
            }
        }

        let minCell = standard.minCell
        let names = period.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var results: [CentreResult] = []
        var total = Counters(), totalBaseline = Counters()
        for name in names {
            let c = period[name]!
            total.merge(c)
            let rates = Dictionary(uniqueKeysWithValues: c.rates.map { ($0.name, ($0.x, $0.n)) })
            let judgements = standard.thresholds.map { t in
                Judgement(measure: t.measure, x: rates[t.measure]!.0, n: rates[t.measure]!.1, threshold: t, minCell: minCell)
            }
            let status: Status
            if judgements.contains(where: { $0.verdict == .doesNotMeet }) {
                status = .notAccredited
            } else if !judgements.isEmpty && judgements.allSatisfy({ $0.verdict == .meets }) {
                status = .accredited
            } else {
                status = .notYetDecided
            }
            var comparison: BaselineComparison?
            if standard.baseline != nil {
                let b = baseline[name] ?? .zero
                totalBaseline.merge(b)
                let (px, pn) = Self.rate(standard.baselineMeasure, c)
                let (bx, bn) = Self.rate(standard.baselineMeasure, b)
                comparison = BaselineComparison(
                    periodX: px, periodN: pn, baselineX: bx, baselineN: bn,
                    target: standard.targetReduction, minCell: minCell)
            }
            let svc = (services[name] ?? []).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            results.append(
                CentreResult(
                    centre: name, services: svc, judgements: judgements, status: status,
                    baseline: comparison, contacts: c.contacts))
        }
        self.centres = results
        if standard.baseline != nil {
            let (px, pn) = Self.rate(standard.baselineMeasure, total)
            let (bx, bn) = Self.rate(standard.baselineMeasure, totalBaseline)
            overallBaseline = BaselineComparison(
                periodX: px, periodN: pn, baselineX: bx, baselineN: bn,
                target: standard.targetReduction, minCell: minCell)
        }

        // Peer groups.
        var groupList = standard.peerGroups
        if groupList.isEmpty { groupList = [Standard.PeerGroup(name: "All centres", services: [], centres: [])] }
        var groups: [GroupResult] = []
        for g in groupList {
            let members: [String]
            if !g.centres.isEmpty {
                members = g.centres.filter { period[$0] != nil }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                let missing = g.centres.filter { period[$0] == nil }
                if !missing.isEmpty {
                    notes.append("Peer group \(g.name): \(missing.joined(separator: ", ")) named in the standard had no contacts in the period.")
                }
            } else if !g.services.isEmpty {
                guard report.settings.grouping == .service else {
                    throw UsageError("peer group '\(g.name)' groups centres by service, but the input was analysed with --by centre; analyse with --by service")
                }
                members = names.filter { n in g.services.allSatisfy { (services[n] ?? []).contains($0) } }
            } else {
                members = names
            }
            let byName = Dictionary(uniqueKeysWithValues: results.map { ($0.centre, $0) })
            var funnels: [Funnel] = []
            for (k, t) in standard.thresholds.enumerated() {
                funnels.append(Self.funnel(threshold: t, judgements: members.map { ($0, byName[$0]!.judgements[k]) }))
            }
            groups.append(GroupResult(group: g, centres: members, funnels: funnels))
        }
        self.groups = groups

        // What a reader needs to know.
        let pending = period.values.reduce(Int64(0)) { $0 + $1.fcrPending }
        if pending > 0, standard.thresholds.contains(where: { $0.measure == "fcr_rate" }) {
            notes.append(
                "\(pending) handled contacts in the period were too recent to judge first-contact resolution (less than the repeat window, \(HumanDuration.format(millis: report.settings.repeatWindow)), before the end of the data) and are left out of fcr_rate."
            )
        }
        if let b = standard.baseline, firstDay != .max,
            b.from - firstDay < (report.settings.chaseWindow + 86_399_999) / 86_400_000
        {
            notes.append(
                "The baseline starts \(b.from - firstDay) days after the first day of data, less than the chase window (\(HumanDuration.format(millis: report.settings.chaseWindow))): contacts early in the baseline have less caller history behind them, so repeats, chases and retries there are undercounted and the baseline avoidable rate is biased low."
            )
        }
        for g in groups {
            for f in g.funnels where f.overdispersed {
                notes.append(
                    "\(g.group.name), \(f.measure): centres differ by more than chance (overdispersion φ = \(String(format: "%.1f", f.dispersion ?? 0))); control limits assume no real differences, so being outside them says a centre differs, not why."
                )
            }
        }
        self.notes = notes
    }

    static func rate(_ measure: String, _ c: Counters) -> (Int64, Int64) {
        let r = c.rates.first { $0.name == measure }!
        return (r.x, r.n)
    }

    static func funnel(threshold t: Standard.Threshold, judgements: [(String, Judgement)]) -> Funnel {
        let published = judgements.filter { $0.1.verdict != .suppressed }
        let suppressed = judgements.filter { $0.1.verdict == .suppressed }.map(\.0)
        let px = published.reduce(Int64(0)) { $0 + $1.1.x }
        let pn = published.reduce(Int64(0)) { $0 + $1.1.n }
        let p0: Double? = pn > 0 ? Double(px) / Double(pn) : nil
        let higher = t.comparison.higherIsBetter
        // Best first; equal rates in centre-name order.
        let ordered = published.sorted { a, b in
            let va = a.1.value!, vb = b.1.value!
            if va != vb { return higher ? va > vb : va < vb }
            return a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
        }
        var points: [FunnelPoint] = []
        for (k, (name, j)) in ordered.enumerated() {
            let n = Double(j.n)
            let l95 = p0.map { FunnelLimits.limits(p0: $0, n: n, z: FunnelLimits.z95) } ?? (0, 1)
            let l998 = p0.map { FunnelLimits.limits(p0: $0, n: n, z: FunnelLimits.z998) } ?? (0, 1)
            let pos = p0.map { FunnelLimits.position(p: j.value!, n: n, p0: $0) } ?? .within
            let above = pos == .above95 || pos == .above998
            points.append(
                FunnelPoint(
                    centre: name, judgement: j, limit95: l95, limit998: l998, position: pos,
                    rank: k + 1, better: pos.isOutside ? (above == higher) : nil))
        }
        let phi = p0.flatMap { FunnelLimits.dispersion(points: published.map { ($0.1.x, $0.1.n) }, p0: $0) }
        let k = Double(published.count)
        let over = phi.map { $0 > 1 + 2 * (2 / k).squareRoot() } ?? false
        return Funnel(
            measure: t.measure, threshold: t, pooledX: px, pooledN: pn, pooled: p0, points: points,
            suppressed: suppressed, dispersion: phi, overdispersed: over)
    }
}
