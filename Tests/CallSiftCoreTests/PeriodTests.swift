import Testing
@testable import CallSiftCore

/// Day number of a calendar date, via the independent-of-Period civil arithmetic.
private func day(_ y: Int64, _ m: Int, _ d: Int) -> Int32 {
    Int32(CivilDate(year: y, month: m, day: d).daysSinceEpoch)
}

@Suite struct PeriodTests {
    @Test func allPeriodsOfOneDay() {
        let d = day(2026, 3, 2)  // a Monday
        #expect(d == 20_514)
        #expect(Period.day.label(ofDay: d) == "2026-03-02")
        #expect(Period.week.label(ofDay: d) == "2026-W10")
        #expect(Period.month.label(ofDay: d) == "2026-03")
        #expect(Period.quarter.label(ofDay: d) == "2026-Q1")
        #expect(Period.fyquarter.label(ofDay: d) == "2025-26 Q4")
        #expect(Period.all.label(ofDay: d) == "all")
        #expect(Period.day.label(ofDay: 0) == "1970-01-01")
        #expect(Period.day.label(ofDay: -1) == "1969-12-31")
    }

    /// Expected weeks checked against Python's `date.isocalendar()`.
    @Test(arguments: [
        ((Int64(2026), 3, 1), "2026-W09"),  // Sunday ends W09
        ((2026, 3, 2), "2026-W10"),
        ((2026, 12, 31), "2026-W53"),
        ((2027, 1, 1), "2026-W53"),
        ((2027, 1, 3), "2026-W53"),
        ((2027, 1, 4), "2027-W01"),
        ((2024, 12, 29), "2024-W52"),
        ((2024, 12, 30), "2025-W01"),
        ((2020, 12, 31), "2020-W53"),
        ((2021, 1, 3), "2020-W53"),
        ((2021, 1, 4), "2021-W01"),
        ((2015, 12, 31), "2015-W53"),
        ((2016, 1, 3), "2015-W53"),
        ((2008, 12, 29), "2009-W01"),
        ((2009, 1, 1), "2009-W01"),
        ((1970, 1, 1), "1970-W01"),
        ((1969, 12, 29), "1970-W01"),
        ((1969, 12, 28), "1969-W52"),
    ])
    func isoWeeks(date: (Int64, Int, Int), label: String) {
        #expect(Period.week.label(ofDay: day(date.0, date.1, date.2)) == label)
    }

    @Test func isoWeeksAreContiguous() {
        // Across 1990–2060, each Monday starts the next week (or W01 of the next ISO year),
        // and every week holds seven consecutive days.
        var previous = Period.isoWeek(ofDay: Int64(day(1990, 1, 1)))  // a Monday, 1990-W01
        #expect(previous == (1990, 1))
        for d in Int64(day(1990, 1, 2))..<Int64(day(2060, 1, 1)) {
            let current = Period.isoWeek(ofDay: d)
            let isMonday = (d + 3) % 7 == 0
            if !isMonday {
                #expect(current == previous)
            } else if current.year == previous.year {
                #expect(current.week == previous.week + 1)
            } else {
                #expect(current == (previous.year + 1, 1))
                #expect(previous.week == 52 || previous.week == 53)
            }
            previous = current
        }
    }

    @Test func monthsAndQuarters() {
        #expect(Period.month.label(ofDay: day(2026, 12, 31)) == "2026-12")
        #expect(Period.quarter.label(ofDay: day(2026, 3, 31)) == "2026-Q1")
        #expect(Period.quarter.label(ofDay: day(2026, 4, 1)) == "2026-Q2")
        #expect(Period.quarter.label(ofDay: day(2026, 9, 30)) == "2026-Q3")
        #expect(Period.quarter.label(ofDay: day(2026, 10, 1)) == "2026-Q4")
        #expect(Period.quarter.label(ofDay: day(2026, 12, 31)) == "2026-Q4")
    }

    @Test(arguments: [
        ((Int64(2026), 3, 31), "2025-26 Q4"),
        ((2026, 4, 1), "2026-27 Q1"),
        ((2026, 6, 30), "2026-27 Q1"),
        ((2026, 7, 1), "2026-27 Q2"),
        ((2026, 9, 30), "2026-27 Q2"),
        ((2026, 10, 1), "2026-27 Q3"),
        ((2026, 12, 31), "2026-27 Q3"),
        ((2027, 1, 1), "2026-27 Q4"),
        ((2027, 2, 10), "2026-27 Q4"),
        ((2099, 5, 1), "2099-00 Q1"),
        ((2100, 1, 1), "2099-00 Q4"),
        ((2009, 4, 6), "2009-10 Q1"),
        ((2000, 3, 1), "1999-00 Q4"),
    ])
    func ukFinancialQuarters(date: (Int64, Int, Int), label: String) {
        #expect(Period.fyquarter.label(ofDay: day(date.0, date.1, date.2)) == label)
    }

    @Test func rawValuesMatchFlags() {
        #expect(Period(rawValue: "fyquarter") == .fyquarter)
        #expect(Period.allCases.map(\.rawValue) == ["day", "week", "month", "quarter", "fyquarter", "all"])
    }
}
