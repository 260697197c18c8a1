import Testing
@testable import CallSiftCore

@Suite struct TimeHumanDurationTests {
    @Test func parsesUnits() {
        #expect(HumanDuration.parse("500ms") == 500)
        #expect(HumanDuration.parse("0s") == 0)
        #expect(HumanDuration.parse("90s") == 90_000)
        #expect(HumanDuration.parse("10m") == 600_000)
        #expect(HumanDuration.parse("6h") == 21_600_000)
        #expect(HumanDuration.parse("7d") == 604_800_000)
        #expect(HumanDuration.parse("2w") == 1_209_600_000)
        #expect(HumanDuration.parse("1h30m") == 5_400_000)
        #expect(HumanDuration.parse("1m500ms") == 60_500)
        #expect(HumanDuration.parse("1d2h3m4s5ms") == 93_784_005)
        #expect(HumanDuration.parse("1h1h") == 7_200_000)
        #expect(HumanDuration.parse("007s") == 7_000)
    }

    @Test(arguments: [
        "", "90", "1h30", "s", "ms", "-5s", "+5s", "5 s", " 5s", "5s ", "5S", "5sec",
        "5min", "1.5h", "5y", "h1", "1hm", "9223372036854775808ms",
        "9223372036854776s", "15250284452472w", "9223372036854775807ms1ms",
    ])
    func rejects(_ text: String) {
        #expect(HumanDuration.parse(text) == nil)
    }

    @Test func largestThatFits() {
        #expect(HumanDuration.parse("9223372036854775807ms") == .max)
        #expect(HumanDuration.parse("9223372036854775s") == 9_223_372_036_854_775_000)
    }

    @Test func formatsShortest() {
        #expect(HumanDuration.format(millis: 0) == "0s")
        #expect(HumanDuration.format(millis: 500) == "500ms")
        #expect(HumanDuration.format(millis: 90_000) == "1m30s")
        #expect(HumanDuration.format(millis: 600_000) == "10m")
        #expect(HumanDuration.format(millis: 21_600_000) == "6h")
        #expect(HumanDuration.format(millis: 5_400_000) == "1h30m")
        #expect(HumanDuration.format(millis: 604_800_000) == "7d")
        #expect(HumanDuration.format(millis: 1_209_600_000) == "14d")
        #expect(HumanDuration.format(millis: 3_600_500) == "1h500ms")
        #expect(HumanDuration.format(millis: 93_784_005) == "1d2h3m4s5ms")
        #expect(HumanDuration.format(millis: -90_000) == "-1m30s")
        _ = HumanDuration.format(millis: .min)
    }

    @Test func roundTrips() {
        for millis: Int64 in [
            0, 1, 999, 1_000, 59_999, 60_000, 3_599_999, 86_400_001, 604_800_000,
            1_234_567_890_123, .max,
        ] {
            #expect(HumanDuration.parse(HumanDuration.format(millis: millis)) == millis)
        }
    }
}
