import CallSiftCore
import CallSiftInput
// Seeded randomness for the workload generator.
//
// Everything the generator draws comes from these generators, never from Swift's
// `SystemRandomNumberGenerator`, and every floating-point step uses only IEEE-754 basic
// operations (no libm), so the same options give the same bytes on every machine.

/// SplitMix64 (Steele, Lea and Flood): expands one 64-bit seed into well-mixed words.
/// Used to seed `Xoshiro256StarStar` and to hash small integers deterministically.
struct SplitMix64 {
    var state: UInt64

    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 finaliser: a bijective avalanche of one word.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman and Vigna): the generator behind every random choice.
///
/// Independent streams come from one seed by mixing a stream number into it, so the
/// traffic stream is untouched by whether `--dirty` draws from its own stream.
struct Xoshiro256StarStar {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    init(seed: UInt64, stream: UInt64) {
        var seeder = SplitMix64(state: seed ^ SplitMix64.mix(stream &+ 0x5EED))
        s0 = seeder.next()
        s1 = seeder.next()
        s2 = seeder.next()
        s3 = seeder.next()
        // An all-zero state would stay zero forever; SplitMix64 cannot produce four zero
        // words in a row, but say so rather than rely on it silently.
        assert(s0 | s1 | s2 | s3 != 0)
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = Xoshiro256StarStar.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Xoshiro256StarStar.rotl(s3, 45)
        return result
    }

    /// Uniform in `0..<bound` (Lemire's multiply-and-reject; exact, no modulo bias).
    @inline(__always)
    mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }

    /// Uniform integer in `lower..<upper`.
    @inline(__always)
    mutating func int(_ lower: Int64, _ upper: Int64) -> Int64 {
        precondition(upper > lower)
        return lower &+ Int64(bitPattern: below(UInt64(bitPattern: upper &- lower)))
    }

    /// Uniform index into a collection of `count` elements.
    @inline(__always)
    mutating func index(_ count: Int) -> Int { Int(below(UInt64(count))) }

    /// Uniform in [0, 1), 53 random bits.
    @inline(__always)
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// True with probability `p`.
    @inline(__always)
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Uniform in [lower, upper).
    @inline(__always)
    mutating func uniform(_ lower: Double, _ upper: Double) -> Double { lower + (upper - lower) * unit() }

    /// Exponentially distributed with the given mean (inverse CDF; 1 - u lies in (0, 1]).
    @inline(__always)
    mutating func exponential(mean: Double) -> Double { -mean * deterministicLog(1 - unit()) }

    /// Index drawn from a cumulative weight table (last element = total weight).
    @inline(__always)
    mutating func pick(cumulative: [Double]) -> Int {
        let target = unit() * cumulative[cumulative.count - 1]
        var i = 0
        while i < cumulative.count - 1 && cumulative[i] <= target { i += 1 }
        return i
    }
}

/// Natural logarithm from basic IEEE-754 operations only, so results never depend on the
/// platform's libm. Accurate to a few ulps for positive normal `x`.
///
/// Write x = m·2^e with m in [√½, √2). Then ln x = e·ln 2 + ln m, and with
/// s = (m − 1)/(m + 1), |s| ≤ 0.1716, ln m = 2·atanh(s) = 2(s + s³/3 + s⁵/5 + …).
/// Eleven terms leave an error below s²³/23 ≈ 1e-19.
func deterministicLog(_ x: Double) -> Double {
    precondition(x > 0 && x.isFinite)
    var e = Int(x.exponent)
    var m = x.significand  // [1, 2)
    if m > 1.4142135623730951 {
        m /= 2  // exact
        e += 1
    }
    let s = (m - 1) / (m + 1)
    let s2 = s * s
    var term = s
    var sum = s
    var k = 3.0
    while k <= 23 {
        term *= s2
        sum += term / k
        k += 2
    }
    return 2 * sum + Double(e) * 0.693_147_180_559_945_3
}
