/// A proleptic Gregorian calendar date, and the integer arithmetic that maps it to and
/// from a count of days since 1970-01-01.
///
/// The conversions are Howard Hinnant's `days_from_civil` / `civil_from_days`: they shift
/// the year to start on 1 March, so the leap day is the last day of the shifted year and
/// month lengths follow the repeating 31-30-31-30-31 pattern that `(153 * m + 2) / 5`
/// captures. Everything else is whole 400-year eras of 146 097 days. No Foundation, no
/// tables, no allocation; valid for every day an `Int64` can hold without overflow in the
/// intermediate products (far beyond any year callsift prints).
public struct CivilDate: Hashable, Sendable {
    /// Year, astronomical numbering (year 0 exists, 1 BC).
    public var year: Int64
    /// Month, 1–12.
    public var month: Int
    /// Day of the month, 1–31.
    public var day: Int

    /// A date from its parts; the caller guarantees they name a real day.
    public init(year: Int64, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` days after 1970-01-01 (negative: before it).
    ///
    /// - Complexity: O(1), a handful of integer divisions.
    @inlinable
    public init(daysSinceEpoch days: Int64) {
        // Shift the origin to 0000-03-01, the start of a 400-year era.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097  // [0, 146096]
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365  // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)  // [0, 365], from 1 March
        let mp = (5 * doy + 2) / 153  // [0, 11], March = 0
        let d = doy - (153 * mp + 2) / 5 + 1  // [1, 31]
        let m = mp < 10 ? mp + 3 : mp - 9  // [1, 12]
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = Int(m)
        self.day = Int(d)
    }

    /// Days from 1970-01-01 to this date (negative: before it).
    ///
    /// - Complexity: O(1).
    @inlinable
    public var daysSinceEpoch: Int64 {
        CivilDate.daysFromCivil(year: year, month: Int64(month), day: Int64(day))
    }

    /// Days from 1970-01-01 to `year`-`month`-`day`, without validating the parts.
    ///
    /// - Complexity: O(1).
    @inlinable
    public static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        // January and February belong to the previous March-based year.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400  // [0, 399]
        let mp = month > 2 ? month - 3 : month + 9  // [0, 11], March = 0
        let doy = (153 * mp + 2) / 5 + day - 1  // [0, 365]
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy  // [0, 146096]
        return era * 146_097 + doe - 719_468
    }

    /// Whether `year` has 29 February.
    @inlinable
    public static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// Number of days in `month` (1–12) of `year`.
    @inlinable
    public static func daysInMonth(year: Int64, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

// MARK: - Small formatting helpers shared by the Time types (output paths, not hot paths)

/// Appends `value` in decimal, left-padded with zeros to at least `width` digits; a
/// negative value gets a leading `-` before the padding (`-0042`).
func appendDecimal(_ value: Int64, width: Int, to out: inout [UInt8]) {
    if value < 0 { out.append(UInt8(ascii: "-")) }
    var magnitude = value.magnitude  // UInt64: safe for Int64.min
    var digits: [UInt8] = []
    digits.reserveCapacity(20)
    repeat {
        digits.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
        magnitude /= 10
    } while magnitude > 0
    if digits.count < width {
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits.count))
    }
    out.append(contentsOf: digits.reversed())
}

/// Floor division and its non-negative remainder (`divisor` > 0), so that negative
/// instants fall into the day (or second) that contains them rather than the one after.
@inlinable
package func floorDivMod(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
    let q = value / divisor
    let r = value - q * divisor
    return r < 0 ? (q - 1, r + divisor) : (q, r)
}
