import Testing
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSift
@testable import CallSiftAccredit

/// Hand-worked judgements at and around every boundary. Wilson intervals were worked out
/// independently (python3: p ± … from the score formula, z = scipy.stats.norm.ppf(0.975)):
/// 80/100 → [0.7111708344068411, 0.8666330666689674]; 0/20 → [0, 0.16112515805281938].
@Suite struct JudgementTests {
    static func t(_ op: Standard.Comparison, _ v: Double, measure m: String = "fcr_rate") -> Standard.Threshold {
        Standard.Threshold(measure: m, comparison: op, value: v)
    }

    @Test func wholeIntervalDecides() {
        // 80 of 100: interval 71.1%–86.7%.
        #expect(Judgement(measure: "fcr_rate", x: 80, n: 100, threshold: Self.t(.atLeast, 0.70), minCell: 10).verdict == .meets)
        #expect(Judgement(measure: "fcr_rate", x: 80, n: 100, threshold: Self.t(.atLeast, 0.75), minCell: 10).verdict == .notYetConclusive)
        #expect(Judgement(measure: "fcr_rate", x: 80, n: 100, threshold: Self.t(.atLeast, 0.90), minCell: 10).verdict == .doesNotMeet)
        #expect(Judgement(measure: "avoidable_rate", x: 80, n: 100, threshold: Self.t(.atMost, 0.90), minCell: 10).verdict == .meets)
        #expect(Judgement(measure: "avoidable_rate", x: 80, n: 100, threshold: Self.t(.atMost, 0.80), minCell: 10).verdict == .notYetConclusive)
        #expect(Judgement(measure: "avoidable_rate", x: 80, n: 100, threshold: Self.t(.atMost, 0.70), minCell: 10).verdict == .doesNotMeet)
        let j = Judgement(measure: "fcr_rate", x: 80, n: 100, threshold: Self.t(.atLeast, 0.70), minCell: 10)
        #expect(abs(j.lo! - 0.7111708344068411) < 1e-12)
        #expect(abs(j.hi! - 0.8666330666689674) < 1e-12)
        #expect(j.value == 0.8)
    }

    @Test func intervalTouchingTheThreshold() {
        let w = Wilson.interval(x: 80, n: 100)!
        // lo exactly on a ">=" threshold: every value in [lo, hi] is >= t, so it meets.
        #expect(Judgement(measure: "m", x: 80, n: 100, threshold: Self.t(.atLeast, w.lo), minCell: 10).verdict == .meets)
        // One ulp above lo: lo no longer satisfies it.
        #expect(Judgement(measure: "m", x: 80, n: 100, threshold: Self.t(.atLeast, w.lo.nextUp), minCell: 10).verdict == .notYetConclusive)
        // A strict ">" threshold at lo: lo itself fails it, so not wholly on the right side.
        #expect(Judgement(measure: "m", x: 80, n: 100, threshold: Self.t(.above, w.lo), minCell: 10).verdict == .notYetConclusive)
        // hi exactly on a "<=" threshold meets; on a ">=" threshold the interval touches from below: not conclusive.
        #expect(Judgement(measure: "m", x: 80, n: 100, threshold: Self.t(.atMost, w.hi), minCell: 10).verdict == .meets)
        #expect(Judgement(measure: "m", x: 80, n: 100, threshold: Self.t(.atLeast, w.hi), minCell: 10).verdict == .notYetConclusive)
        #expect(Judgement(measure: "m", x: 80, n: 100, threshold: Self.t(.atLeast, w.hi.nextUp), minCell: 10).verdict == .doesNotMeet)
        // lo exactly on a "<=" threshold from above: only lo satisfies it: not conclusive; one ulp below: does not meet.
        #expect(Judgement(measure: "m", x: 80, n: 100, threshold: Self.t(.atMost, w.lo), minCell: 10).verdict == .notYetConclusive)
        #expect(Judgement(measure: "m", x: 80, n: 100, threshold: Self.t(.atMost, w.lo.nextDown), minCell: 10).verdict == .doesNotMeet)
        #expect(Judgement(measure: "m", x: 80, n: 100, threshold: Self.t(.below, w.hi), minCell: 10).verdict == .notYetConclusive)
    }

    @Test func minimumCell() {
        // n = 9 < 10: suppressed, with no rate; n = 10 is judged.
        let under = Judgement(measure: "m", x: 9, n: 9, threshold: Self.t(.atLeast, 0.5), minCell: 10)
        #expect(under.verdict == .suppressed)
        #expect(under.value == nil && under.lo == nil && under.hi == nil)
        #expect(under.x == 9 && under.n == 9)
        // 10 of 10: interval [0.7224672001371107, 1]: meets >= 0.70.
        let at = Judgement(measure: "m", x: 10, n: 10, threshold: Self.t(.atLeast, 0.70), minCell: 10)
        #expect(at.verdict == .meets)
        #expect(abs(at.lo! - 0.7224672001371107) < 1e-12)
        // n = 0 is suppressed whatever the minimum cell, even 0.
        #expect(Judgement(measure: "m", x: 0, n: 0, threshold: Self.t(.atLeast, 0.5), minCell: 10).verdict == .suppressed)
        #expect(Judgement(measure: "m", x: 0, n: 0, threshold: Self.t(.atLeast, 0.5), minCell: 0).verdict == .suppressed)
        // min cell 0 judges n = 1.
        #expect(Judgement(measure: "m", x: 1, n: 1, threshold: Self.t(.atLeast, 0.01), minCell: 0).verdict == .meets)
    }

    @Test func zeroEvents() {
        // 0 of 20 abandoned: interval [0, 0.161]; <= 0.05 cannot be decided yet; <= 0.20 is met.
        #expect(Judgement(measure: "abandon_rate", x: 0, n: 20, threshold: Self.t(.atMost, 0.05), minCell: 10).verdict == .notYetConclusive)
        let j = Judgement(measure: "abandon_rate", x: 0, n: 20, threshold: Self.t(.atMost, 0.20), minCell: 10)
        #expect(j.verdict == .meets)
        #expect(abs(j.hi! - 0.16112515805281938) < 1e-12)
    }
}

/// Funnel limits against values worked out independently in python3 with scipy:
/// z = norm.ppf(0.975), norm.ppf(0.999); limits (2np₀ + z² ± z√(z² + 4np₀(1−p₀)))/(2(n + z²)).
/// As a sanity check, exact binomial 2.5%/97.5% quantiles at p₀ = 0.3, n = 1000
/// (binom.ppf) are 0.272 and 0.329, against Wilson limits 0.2724 and 0.3291.
@Suite struct FunnelLimitsTests {
    @Test func zValues() {
        #expect(FunnelLimits.z95 == 1.959963984540054)
        #expect(FunnelLimits.z998 == 3.090232306167813)
    }

    @Test func limitsMatchIndependentValues() {
        let cases: [(p0: Double, n: Double, l95: (Double, Double), l998: (Double, Double))] = [
            (0.3, 100, (0.21894885294932764, 0.39584854633346667), (0.1810162717665872, 0.4538521031453951)),
            (0.3, 1000, (0.27240684247700486, 0.32912386091721724), (0.25728228985714224, 0.3465013920201038)),
            (0.12, 50, (0.05617600150932275, 0.23804817383202986), (0.037244653175862556, 0.3246311440166563)),
            (0.7, 20000, (0.6936110773060923, 0.7063121082714658), (0.6898929878141067, 0.7099161126218818)),
        ]
        for c in cases {
            let a = FunnelLimits.limits(p0: c.p0, n: c.n, z: FunnelLimits.z95)
            let b = FunnelLimits.limits(p0: c.p0, n: c.n, z: FunnelLimits.z998)
            #expect(abs(a.lo - c.l95.0) < 1e-12 && abs(a.hi - c.l95.1) < 1e-12, "95% at p0=\(c.p0) n=\(c.n)")
            #expect(abs(b.lo - c.l998.0) < 1e-12 && abs(b.hi - c.l998.1) < 1e-12, "99.8% at p0=\(c.p0) n=\(c.n)")
        }
    }

    @Test func positions() {
        // p0 = 0.3, n = 1000: 95% limits 0.2724–0.3291, 99.8% 0.2573–0.3465.
        #expect(FunnelLimits.position(p: 0.30, n: 1000, p0: 0.3) == .within)
        #expect(FunnelLimits.position(p: 0.33, n: 1000, p0: 0.3) == .above95)
        #expect(FunnelLimits.position(p: 0.35, n: 1000, p0: 0.3) == .above998)
        #expect(FunnelLimits.position(p: 0.27, n: 1000, p0: 0.3) == .below95)
        #expect(FunnelLimits.position(p: 0.25, n: 1000, p0: 0.3) == .below998)
    }

    @Test func dispersion() {
        // Two centres exactly at p0: φ = 0.
        #expect(FunnelLimits.dispersion(points: [(30, 100), (300, 1000)], p0: 0.3) == 0)
        // 30/100 and 40/100 around p0 = 0.35: each z² = 0.05²/(0.35·0.65/100) = 0.0025/0.002275.
        let phi = FunnelLimits.dispersion(points: [(30, 100), (40, 100)], p0: 0.35)!
        #expect(abs(phi - 0.0025 / 0.002275) < 1e-12)
        #expect(FunnelLimits.dispersion(points: [(30, 100)], p0: 0.3) == nil)  // fewer than two units
    }
}

/// Baseline comparisons against python3: RR with the Katz log interval,
/// se = √(1/x₁ − 1/n₁ + 1/x₀ − 1/n₀), z = norm.ppf(0.975).
@Suite struct BaselineComparisonTests {
    @Test func katzInterval() {
        // 200/1000 against 300/1000: RR = 2/3, 95% interval 0.5703851541169718–0.7792005826878519.
        let b = BaselineComparison(periodX: 200, periodN: 1000, baselineX: 300, baselineN: 1000, target: 0.5, minCell: 10)
        #expect(abs(b.ratio! - 2.0 / 3.0) < 1e-12)
        #expect(abs(b.ratioLo! - 0.5703851541169718) < 1e-12)
        #expect(abs(b.ratioHi! - 0.7792005826878519) < 1e-12)
        #expect(abs(b.reduction! - 1.0 / 3.0) < 1e-12)
        #expect(abs(b.reductionLo! - (1 - 0.7792005826878519)) < 1e-12)
        #expect(abs(b.progress! - 2.0 / 3.0) < 1e-12)
        // The whole reduction interval (22%–43%) is below 50%: aim not met.
        #expect(b.verdict == .aimNotMet)
    }

    @Test func aimMetAndOpen() {
        // 100/1000 against 300/1000: reduction 2/3, interval 0.5893270769680216–0.7294413513051137: met.
        let met = BaselineComparison(periodX: 100, periodN: 1000, baselineX: 300, baselineN: 1000, target: 0.5, minCell: 10)
        #expect(met.verdict == .aimMet)
        #expect(abs(met.reductionLo! - 0.5893270769680216) < 1e-12)
        #expect(abs(met.reductionHi! - 0.7294413513051137) < 1e-12)
        // Small counts straddle 50%.
        #expect(BaselineComparison(periodX: 5, periodN: 20, baselineX: 10, baselineN: 20, target: 0.5, minCell: 10).verdict == .notYetConclusive)
    }

    @Test func edges() {
        #expect(BaselineComparison(periodX: 0, periodN: 100, baselineX: 30, baselineN: 100, target: 0.5, minCell: 10).verdict == .notEstimable)
        #expect(BaselineComparison(periodX: 3, periodN: 9, baselineX: 30, baselineN: 100, target: 0.5, minCell: 10).verdict == .suppressed)
        #expect(BaselineComparison(periodX: 3, periodN: 10, baselineX: 0, baselineN: 0, target: 0.5, minCell: 0).verdict == .suppressed)
    }
}
