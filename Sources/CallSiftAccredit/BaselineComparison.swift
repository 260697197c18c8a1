import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSift
import Foundation

/// A rate in the reporting period against the same rate in a baseline period, as a
/// relative reduction with a 95% interval, and progress towards the aim (by default,
/// halving avoidable contact).
///
/// Method: the ratio of two proportions RR = p₁/p₀ (p₁ = x₁/n₁ in the period, p₀ = x₀/n₀
/// in the baseline) with the log-scale interval of Katz et al. (1978):
///
///     se(ln RR) = √(1/x₁ − 1/n₁ + 1/x₀ − 1/n₀)
///     RR_lo, RR_hi = RR · exp(∓ z · se),  z = 1.959963984540054
///
/// The relative reduction is 1 − RR, with interval [1 − RR_hi, 1 − RR_lo]; progress
/// towards an aim of r (0.5 = halve) is reduction / r, with its interval scaled alike.
/// Not estimable (nil) when x₀ or x₁ is 0 (the log ratio is unbounded).
public struct BaselineComparison: Sendable, Equatable {
    public enum Verdict: String, Sendable {
        case aimMet = "aim met"
        case aimNotMet = "aim not met"
        case notYetConclusive = "not yet conclusive"
        case notEstimable = "not estimable"
        case suppressed = "suppressed"

        public var key: String { rawValue.replacingOccurrences(of: " ", with: "_") }
    }

    public var periodX: Int64
    public var periodN: Int64
    public var baselineX: Int64
    public var baselineN: Int64
    public var target: Double
    public var ratio: Double?
    public var ratioLo: Double?
    public var ratioHi: Double?
    public var reduction: Double?
    public var reductionLo: Double?
    public var reductionHi: Double?
    public var verdict: Verdict

    /// Progress towards the aim (1 = aim reached), with its interval.
    public var progress: Double? { reduction.map { $0 / target } }
    public var progressLo: Double? { reductionLo.map { $0 / target } }
    public var progressHi: Double? { reductionHi.map { $0 / target } }

    public var periodRate: Double? { periodN > 0 ? Double(periodX) / Double(periodN) : nil }
    public var baselineRate: Double? { baselineN > 0 ? Double(baselineX) / Double(baselineN) : nil }

    /// - Parameters:
    ///   - target: the aimed-for relative reduction (0.5 = halve).
    ///   - minCell: either n below this suppresses the comparison.
    public init(periodX: Int64, periodN: Int64, baselineX: Int64, baselineN: Int64, target: Double, minCell: Int64) {
        self.periodX = periodX
        self.periodN = periodN
        self.baselineX = baselineX
        self.baselineN = baselineN
        self.target = target
        guard periodN >= max(minCell, 1), baselineN >= max(minCell, 1) else { verdict = .suppressed; return }
        guard periodX > 0, baselineX > 0 else { verdict = .notEstimable; return }
        let x1 = Double(periodX), n1 = Double(periodN), x0 = Double(baselineX), n0 = Double(baselineN)
        let rr = (x1 / n1) / (x0 / n0)
        let se = (1 / x1 - 1 / n1 + 1 / x0 - 1 / n0).squareRoot()
        let lo = rr * exp(-Wilson.z * se), hi = rr * exp(Wilson.z * se)
        ratio = rr
        ratioLo = lo
        ratioHi = hi
        reduction = 1 - rr
        reductionLo = 1 - hi
        reductionHi = 1 - lo
        if 1 - hi >= target { verdict = .aimMet } else if 1 - lo < target { verdict = .aimNotMet } else { verdict = .notYetConclusive }
    }
}
