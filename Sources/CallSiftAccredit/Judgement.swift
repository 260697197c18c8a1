import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSift
/// The verdict on one centre and measure against the standard's threshold.
public enum Verdict: String, Sendable, CaseIterable {
    /// The whole 95% Wilson interval satisfies the threshold.
    case meets = "meets"
    /// The whole interval fails it.
    case doesNotMeet = "does not meet"
    /// The interval straddles the threshold: the data cannot yet tell.
    case notYetConclusive = "not yet conclusive"
    /// n is below the minimum cell size (or 0): nothing is published.
    case suppressed = "suppressed"

    /// The machine-readable name used in JSON and CSV.
    public var key: String {
        switch self {
        case .meets: "meets"
        case .doesNotMeet: "does_not_meet"
        case .notYetConclusive: "not_yet_conclusive"
        case .suppressed: "suppressed"
        }
    }
}

/// A rate x/n with its 95% Wilson interval (docs/metrics.md, "Output"), judged against a
/// threshold.
public struct Judgement: Sendable, Equatable {
    public var measure: String
    public var x: Int64
    public var n: Int64
    /// Nil when suppressed.
    public var value: Double?
    public var lo: Double?
    public var hi: Double?
    public var verdict: Verdict

    /// Judges x of n against `threshold`.
    ///
    /// With the interval [lo, hi] and threshold t, for `>= t`: meets when lo ≥ t (an
    /// interval that touches t from above lies wholly in the region ≥ t), does not meet
    /// when hi < t. For `<= t`: meets when hi ≤ t, does not meet when lo > t. For the
    /// strict `> t` and `< t` a touching interval is not wholly on the right side, so it
    /// is not yet conclusive. In every case the test is "does every value in the interval
    /// satisfy the comparison" (meets) or "does none" (does not meet).
    public init(measure: String, x: Int64, n: Int64, threshold: Standard.Threshold?, minCell: Int64) {
        self.measure = measure
        self.x = x
        self.n = n
        guard n >= max(minCell, 1), let w = Wilson.interval(x: x, n: n) else {
            verdict = .suppressed
            return
        }
        value = w.value
        lo = w.lo
        hi = w.hi
        guard let t = threshold else { verdict = .notYetConclusive; return }
        let op = t.comparison
        if op.holds(w.lo, t.value) && op.holds(w.hi, t.value) {
            verdict = .meets
        } else if !op.holds(w.lo, t.value) && !op.holds(w.hi, t.value) {
            verdict = .doesNotMeet
        } else {
            verdict = .notYetConclusive
        }
    }
}
