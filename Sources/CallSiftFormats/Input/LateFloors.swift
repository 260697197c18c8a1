import CallSiftCore

/// With durable state: below what point each centre's events are late, because the state
/// has already made everything before it final (docs/metrics.md, "Daily runs"). Fixed for
/// the run; read by every input's parser.
package final class LateFloors: Sendable {
    /// Under `--scope global`, one point for every centre.
    let global: Int64?
    /// Otherwise by centre id; a centre not listed is new to the state, with no floor.
    let byCentre: [Int64]

    package init(global: Int64?, byCentre: [Int64]) {
        self.global = global
        self.byCentre = byCentre
    }

    @inline(__always)
    func floor(centre: Int32) -> Int64 {
        if let global { return global }
        return Int(centre) < byCentre.count ? byCentre[Int(centre)] : .min
    }
}
