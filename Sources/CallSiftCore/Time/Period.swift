/// Reporting periods (docs/metrics.md, "Output"): the unit rows are rolled up by.
///
/// Labels come from integer calendar arithmetic (`CivilDate`), not Foundation's
/// `Calendar`: a label depends only on the local day number, which `LocalCalendar` has
/// already fixed, so no time zone or locale can change it.
public enum Period: String, Sendable, CaseIterable {
    /// One local day: `2026-03-02`.
    case day
    /// ISO 8601 week, Monday to Sunday, labelled with the week-numbering year: `2026-W10`.
    case week
    /// Calendar month: `2026-03`.
    case month
    /// Calendar quarter, Q1 = January–March: `2026-Q1`.
    case quarter
    /// UK financial-year quarter, Q1 = April–June, labelled with the financial year's two
    /// calendar years: `2026-27 Q1` (April 2026 – June 2026), `2026-27 Q4` (January – March
    /// 2027), `2099-00 Q1`.
    case fyquarter
    /// Everything in one row: `all`.
    case all

    /// Label of the period containing `day` (days since 1970-01-01):
    /// `2026-03-02`, `2026-W10`, `2026-03`, `2026-Q1`, `2026-27 Q1`, `all`.
    ///
    /// Labels sort in time order as strings within years 0000–9999.
    ///
    /// - Complexity: O(1).
    public func label(ofDay day: Int32) -> String {
        let days = Int64(day)
        var out: [UInt8] = []
        out.reserveCapacity(10)
        switch self {
        case .day:
            let date = CivilDate(daysSinceEpoch: days)
            appendDecimal(date.year, width: 4, to: &out)
            out.append(UInt8(ascii: "-"))
            appendDecimal(Int64(date.month), width: 2, to: &out)
            out.append(UInt8(ascii: "-"))
            appendDecimal(Int64(date.day), width: 2, to: &out)
        case .week:
            let (year, week) = Period.isoWeek(ofDay: days)
            appendDecimal(year, width: 4, to: &out)
            out.append(contentsOf: "-W".utf8)
            appendDecimal(week, width: 2, to: &out)
        case .month:
            let date = CivilDate(daysSinceEpoch: days)
            appendDecimal(date.year, width: 4, to: &out)
            out.append(UInt8(ascii: "-"))
            appendDecimal(Int64(date.month), width: 2, to: &out)
        case .quarter:
            let date = CivilDate(daysSinceEpoch: days)
            appendDecimal(date.year, width: 4, to: &out)
            out.append(contentsOf: "-Q".utf8)
            appendDecimal(Int64((date.month - 1) / 3 + 1), width: 1, to: &out)
        case .fyquarter:
            // April–June is Q1 of the year starting that April; January–March is Q4 of the
            // year that started the previous April.
            let date = CivilDate(daysSinceEpoch: days)
            let startYear = date.month >= 4 ? date.year : date.year - 1
            let quarter = date.month >= 4 ? (date.month - 4) / 3 + 1 : 4
            appendDecimal(startYear, width: 4, to: &out)
            out.append(UInt8(ascii: "-"))
            appendDecimal(floorDivMod(startYear + 1, 100).remainder, width: 2, to: &out)
            out.append(contentsOf: " Q".utf8)
            appendDecimal(Int64(quarter), width: 1, to: &out)
        case .all:
            return "all"
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The last day of the period containing `day`; nil for `all`, which never ends.
    public func lastDay(ofDay day: Int32) -> Int32? {
        let days = Int64(day)
        func endOfMonth(_ year: Int64, _ month: Int) -> Int32 {
            Int32(CivilDate(year: year, month: month, day: CivilDate.daysInMonth(year: year, month: month)).daysSinceEpoch)
        }
        switch self {
        case .day:
            return day
        case .week:
            // Monday is 0 (1970-01-01 was a Thursday).
            return Int32(days + 6 - floorDivMod(days + 3, 7).remainder)
        case .month:
            let date = CivilDate(daysSinceEpoch: days)
            return endOfMonth(date.year, date.month)
        case .quarter:
            let date = CivilDate(daysSinceEpoch: days)
            return endOfMonth(date.year, (date.month - 1) / 3 * 3 + 3)
        case .fyquarter:
            // Its quarters end in June, September, December and March: as calendar ones.
            let date = CivilDate(daysSinceEpoch: days)
            return endOfMonth(date.year, (date.month - 1) / 3 * 3 + 3)
        case .all:
            return nil
        }
    }

    /// ISO 8601 week-numbering year and week (1–53) of `day` (days since 1970-01-01).
    ///
    /// A week belongs to the year that holds its Thursday, so: step to the Thursday of
    /// `day`'s Monday-to-Sunday week; its calendar year is the ISO year, and its ordinal
    /// day within that year, divided by 7, is the week. (1970-01-01 was a Thursday, which
    /// is where the `+ 3` comes from: it makes Monday 0.)
    ///
    /// - Complexity: O(1).
    public static func isoWeek(ofDay day: Int64) -> (year: Int64, week: Int64) {
        let weekdayFromMonday = floorDivMod(day + 3, 7).remainder  // Monday 0 … Sunday 6
        let thursday = day - weekdayFromMonday + 3
        let year = CivilDate(daysSinceEpoch: thursday).year
        let ordinal = thursday - CivilDate.daysFromCivil(year: year, month: 1, day: 1)  // 0-based
        return (year, ordinal / 7 + 1)
    }
}
