import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftGenerate

@Suite("Generator: calendar, timestamps and randomness")
struct GeneratorPrimitivesTests {
    private func rfc3339(_ millis: Int64, offset: Int = 0) -> String {
        var out: [UInt8] = []
        TimestampBytes.appendRFC3339(millis: millis, offsetMinutes: offset, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("days from civil and back, checked against hand-worked dates")
    func civil() {
        #expect(CivilDate.days(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilDate.days(year: 2000, month: 3, day: 1) == 11_017)
        #expect(CivilDate.days(year: 2026, month: 3, day: 2) == 20_514)
        #expect(CivilDate.weekday(days: 20_514) == 0)  // Monday
        #expect(CivilDate.weekday(days: 0) == 3)  // Thursday
        for d in stride(from: Int64(-800_000), through: 2_900_000, by: 997) {
            let c = CivilDate.civil(days: d)
            #expect(CivilDate.days(year: c.year, month: c.month, day: c.day) == d)
        }
        #expect(CivilDate.civil(days: 20_513) == (2026, 3, 1))
        #expect(CivilDate.civil(days: 20_512) == (2026, 2, 28))
        #expect(CivilDate.civil(days: CivilDate.days(year: 2024, month: 2, day: 29)) == (2024, 2, 29))
    }

    @Test("RFC 3339 writer agrees with Foundation")
    func formatting() {
        #expect(rfc3339(0) == "1970-01-01T00:00:00.000Z")
        #expect(rfc3339(1_772_442_902_125) == "2026-03-02T09:15:02.125Z")
        #expect(rfc3339(1_772_442_902_125, offset: 60) == "2026-03-02T10:15:02.125+01:00")
        #expect(rfc3339(1_772_495_999_999, offset: 60) == "2026-03-03T00:59:59.999+01:00")
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var state = SplitMix64(state: 11)
        for _ in 0..<2000 {
            let ms = Int64(state.next() % 4_000_000_000_000)
            let expected = iso.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
            #expect(rfc3339(ms) == expected)
            #expect(GeneratedLog.parseTimestamp(rfc3339(ms, offset: 60)) == ms)
        }
        var out: [UInt8] = []
        TimestampBytes.appendInteger(1_772_442_902_125, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "1772442902125")
    }

    @Test("deterministic log is accurate")
    func log() {
        var state = SplitMix64(state: 5)
        for _ in 0..<10_000 {
            let x = Double(state.next() >> 11) * 0x1.0p-53 + 0x1.0p-60
            #expect(abs(deterministicLog(x) - Foundation.log(x)) <= 1e-14 * max(1, abs(Foundation.log(x))))
        }
        #expect(deterministicLog(1) == 0)
    }

    @Test("xoshiro256** streams: reproducible, bounded, roughly uniform")
    func random() {
        var a = Xoshiro256StarStar(seed: 1, stream: 2)
        var b = Xoshiro256StarStar(seed: 1, stream: 2)
        var c = Xoshiro256StarStar(seed: 1, stream: 3)
        let xs = (0..<8).map { _ in a.next() }
        #expect(xs == (0..<8).map { _ in b.next() })
        #expect(xs != (0..<8).map { _ in c.next() })
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[Int(a.below(7))] += 1 }
        #expect(counts.allSatisfy { $0 > 9_500 && $0 < 10_500 })
        var mean = 0.0
        for _ in 0..<100_000 { mean += a.exponential(mean: 3) }
        #expect(abs(mean / 100_000 - 3) < 0.05)
    }
}
