import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSift
/// Funnel-plot control limits for a proportion (Spiegelhalter 2005, "Funnel plots for
/// comparing institutional performance", Statistics in Medicine 24:1185–1202), computed
/// as in the UK public-health method (the PHE/OHID Fingertips technical guidance): the
/// Wilson score interval of the target proportion p₀ at denominator n,
///
///     limit(n) = (2·n·p₀ + z² ± z·√(z² + 4·n·p₀·(1 − p₀))) / (2·(n + z²))
///
/// with z = 1.959963984540054 (95%, two-sided: 2.5% each side) and z = 3.090232306167813
/// (99.8%: 0.1% each side). For large n this tends to p₀ ± z·√(p₀(1 − p₀)/n), the normal
/// approximation; for small n it stays within [0, 1] and is asymmetric, as exact binomial
/// limits are.
public enum FunnelLimits {
    /// Φ⁻¹(0.975).
    public static let z95 = 1.959963984540054
    /// Φ⁻¹(0.999).
    public static let z998 = 3.090232306167813

    /// The lower and upper control limit at denominator `n` around target `p0`.
    public static func limits(p0: Double, n: Double, z: Double) -> (lo: Double, hi: Double) {
        let z2 = z * z
        let centre = 2 * n * p0 + z2
        let spread = z * (z2 + 4 * n * p0 * (1 - p0)).squareRoot()
        let denominator = 2 * (n + z2)
        return ((centre - spread) / denominator, (centre + spread) / denominator)
    }

    /// Where a unit lies relative to the limits at its n.
    public enum Position: String, Sendable, CaseIterable {
        case below998 = "below 99.8% limit"
        case below95 = "below 95% limit"
        case within = "within limits"
        case above95 = "above 95% limit"
        case above998 = "above 99.8% limit"

        public var key: String {
            switch self {
            case .below998: "below_99.8"
            case .below95: "below_95"
            case .within: "within"
            case .above95: "above_95"
            case .above998: "above_99.8"
            }
        }
        public var isOutside: Bool { self != .within }
    }

    /// The position of rate `p` (of `n`) relative to the funnel around `p0`. A rate exactly
    /// on a limit is within it.
    public static func position(p: Double, n: Double, p0: Double) -> Position {
        let outer = limits(p0: p0, n: n, z: z998)
        if p > outer.hi { return .above998 }
        if p < outer.lo { return .below998 }
        let inner = limits(p0: p0, n: n, z: z95)
        if p > inner.hi { return .above95 }
        if p < inner.lo { return .below95 }
        return .within
    }

    /// The overdispersion ratio φ = (1/k)·Σ zᵢ², zᵢ = (pᵢ − p₀)/√(p₀(1 − p₀)/nᵢ) (Spiegelhalter
    /// 2005, section 6). Near 1 when centres differ by chance alone; well above 1 means
    /// real differences between centres, and then many will fall outside limits that assume
    /// there are none. Nil with fewer than two units or p₀ at 0 or 1.
    public static func dispersion(points: [(x: Int64, n: Int64)], p0: Double) -> Double? {
        guard points.count >= 2, p0 > 0, p0 < 1 else { return nil }
        var sum = 0.0
        for pt in points {
            let n = Double(pt.n), p = Double(pt.x) / n
            let zi = (p - p0) / (p0 * (1 - p0) / n).squareRoot()
            sum += zi * zi
        }
        return sum / Double(points.count)
    }
}
