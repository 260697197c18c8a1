import Testing
@testable import CallSiftCore
@testable import CallSiftFormats

@Suite struct InternCacheTests {
    /// Strings of every length from 0 to 40 over a two-letter alphabet differ from each
    /// other in single bytes anywhere, which is where a cache keyed on a few words could
    /// confuse two of them; many of them share a cache slot too. Every lookup, first or
    /// repeated, must give the interner's own id.
    @Test func everyLookupGivesTheInternersId() {
        let interner = Interner()
        let cache = InternCache()
        var rng = SystemRandomNumberGenerator()
        var strings: [[UInt8]] = []
        for length in 0...40 {
            for _ in 0..<40 {
                strings.append((0..<length).map { _ in Bool.random(using: &rng) ? UInt8(ascii: "a") : UInt8(ascii: "b") })
            }
        }
        var wrong = 0
        for _ in 0..<3 {
            for s in strings.shuffled(using: &rng) {
                let id = s.withUnsafeBytes { cache.lookup($0, in: interner) }
                if id != interner.intern(String(decoding: s, as: UTF8.self)) { wrong += 1 }
            }
        }
        #expect(wrong == 0)
    }

    /// The words of a short string determine it: two strings of the same length up to 16
    /// bytes have equal words only if they are equal.
    @Test func shortBytesTellEveryShortStringApart() {
        var seen: [Int: [ShortBytes: [UInt8]]] = [:]
        var clashes = 0
        // Every string of up to 4 bytes over three letters, and random longer ones.
        func check(_ s: [UInt8]) {
            let w = s.withUnsafeBytes { ShortBytes($0) }
            if let other = seen[s.count, default: [:]][w], other != s { clashes += 1 }
            seen[s.count, default: [:]][w] = s
        }
        func all(_ prefix: [UInt8], _ left: Int) {
            check(prefix)
            if left > 0 { for b in [UInt8(ascii: "x"), UInt8(ascii: "y"), UInt8(ascii: "z")] { all(prefix + [b], left - 1) } }
        }
        all([], 4)
        var rng = SystemRandomNumberGenerator()
        for length in 5...16 {
            for _ in 0..<2000 { check((0..<length).map { _ in UInt8.random(in: 120...122, using: &rng) }) }
        }
        #expect(clashes == 0)
    }
}
