/// Wilson score interval, docs/metrics.md, "Output".
public enum Wilson {
    /// The two-sided 95% normal quantile, Φ⁻¹(0.975), to double precision.
    public static let z = 1.959963984540054

    /// The rate x/n with its Wilson score 95% interval: `value` = x/n, `lo`, `hi`; nil when
    /// n = 0 (the output prints all three as null).
    ///
    /// Computed literally as the product definition writes it (docs/metrics.md, "Output"),
    /// in this order, in `Double`, so that every implementation prints the same bits:
    ///
    ///     p    = x / n
    ///     mid  = (p + z²/(2n)) / (1 + z²/n)
    ///     half = z / (1 + z²/n) · sqrt(p(1 − p)/n + z²/(4n²))
    ///     lo   = mid − half,  hi = mid + half
    ///
    /// Nothing is clamped: at x = 0 `lo` may come out as a tiny negative rounding residue
    /// rather than exactly 0, and the output shows it as computed.
    public static func interval(x: Int64, n: Int64) -> (value: Double, lo: Double, hi: Double)? {
        guard n != 0 else { return nil }
        let xd = Double(x)
        let nd = Double(n)
        let z2 = z * z
        let p = xd / nd
        let denominator = 1 + z2 / nd
        let mid = (p + z2 / (2 * nd)) / denominator
        let half = z / denominator * (p * (1 - p) / nd + z2 / (4 * nd * nd)).squareRoot()
        return (p, mid - half, mid + half)
    }
}
