import Testing
@testable import CallSift

/// `Counters` written out field by field (`merge`, `values`) agrees with `fields`, the
/// one list of names and key paths.
@Suite struct CountersTests {
    /// Counters whose fields all differ: field `i` holds `base + i`.
    static func distinct(_ base: Int64) -> Counters {
        var c = Counters()
        for (i, f) in Counters.fields.enumerated() { c[keyPath: f.path] = base + Int64(i) }
        return c
    }

    @Test func valuesAreInTheOrderOfFields() {
        let c = Self.distinct(100)
        #expect(c.values == Counters.fields.map { c[keyPath: $0.path] })
    }

    @Test func mergeAddsEveryField() {
        var a = Self.distinct(100)
        a.merge(Self.distinct(1000))
        #expect(a.values == Counters.fields.indices.map { Int64(1100 + 2 * $0) })
    }
}
