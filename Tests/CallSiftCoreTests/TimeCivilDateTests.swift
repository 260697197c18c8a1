import Testing
@testable import CallSiftCore

@Suite struct TimeCivilDateTests {
    @Test func knownDays() {
        #expect(CivilDate(year: 1970, month: 1, day: 1).daysSinceEpoch == 0)
        #expect(CivilDate(year: 2026, month: 3, day: 2).daysSinceEpoch == 20_514)
        #expect(CivilDate(year: 1969, month: 12, day: 31).daysSinceEpoch == -1)
        #expect(CivilDate(year: 2000, month: 3, day: 1).daysSinceEpoch == 11_017)
        #expect(CivilDate(daysSinceEpoch: 20_819) == CivilDate(year: 2027, month: 1, day: 1))
        #expect(CivilDate(daysSinceEpoch: -719_528) == CivilDate(year: 0, month: 1, day: 1))
    }

    @Test func roundTripsAndStepsByOneDay() {
        // Walk day by day from 1599-12-25 to 2401-01-05: each day is the successor of the last.
        var previous = CivilDate(daysSinceEpoch: -135_000)
        for days in Int64(-134_999)...Int64(157_000) {
            let date = CivilDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
            if previous.day == CivilDate.daysInMonth(year: previous.year, month: previous.month) {
                #expect(date.day == 1)
                #expect(date.month == (previous.month == 12 ? 1 : previous.month + 1))
            } else {
                #expect(date.year == previous.year && date.month == previous.month && date.day == previous.day + 1)
            }
            previous = date
        }
    }
}
