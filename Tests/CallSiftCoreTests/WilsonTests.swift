import Testing
@testable import CallSiftCore

@Suite struct WilsonTests {
    /// Reference values computed with Python's `decimal` at 50 digits from the Wilson score
    /// formula (docs/metrics.md, "Output"), independently of this code.
    @Test(arguments: [
        (Int64(0), Int64(10), 0.0, 0.0, 0.27753279986288920),
        (5, 10, 0.5, 0.23659309051256400, 0.76340690948743600),
        (10, 10, 1.0, 0.72246720013711080, 1.0),
        (1, 1, 1.0, 0.20654931437723743, 1.0),
        (0, 1, 0.0, 0.0, 0.79345068562276257),
        (3, 7, 0.42857142857142857, 0.15821985525146971, 0.74954163547234278),
        (42, 1000, 0.042, 0.031220885546165442, 0.056284425226603051),
    ])
    func matchesReference(x: Int64, n: Int64, value: Double, lo: Double, hi: Double) throws {
        let r = try #require(Wilson.interval(x: x, n: n))
        #expect(abs(r.value - value) <= 1e-12)
        #expect(abs(r.lo - lo) <= 1e-12)
        #expect(abs(r.hi - hi) <= 1e-12)
    }

    @Test func emptyIsNil() {
        #expect(Wilson.interval(x: 0, n: 0) == nil)
    }

    @Test func symmetric() throws {
        // Swapping successes and failures mirrors the interval about 1/2.
        let a = try #require(Wilson.interval(x: 3, n: 17))
        let b = try #require(Wilson.interval(x: 14, n: 17))
        #expect(abs(a.lo - (1 - b.hi)) <= 1e-12)
        #expect(abs(a.hi - (1 - b.lo)) <= 1e-12)
    }
}
