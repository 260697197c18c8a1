import CallSiftCore
import CallSiftInput
// The generator's own RFC 3339 writer (bytes, any offset) and the small calendar helpers
// it needs on top of Time/CivilDate.swift: integers only, no Foundation.

extension CivilDate {
    static let millisPerDay: Int64 = 86_400_000

    /// Days since 1970-01-01 of a calendar date.
    static func days(year: Int64, month: Int, day: Int) -> Int64 {
        daysFromCivil(year: year, month: Int64(month), day: Int64(day))
    }

    /// The calendar date of a day number.
    static func civil(days: Int64) -> (year: Int64, month: Int, day: Int) {
        let d = CivilDate(daysSinceEpoch: days)
        return (d.year, d.month, d.day)
    }

    /// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
    static func weekday(days: Int64) -> Int {
        let r = (days + 3) % 7
        return Int(r < 0 ? r + 7 : r)
    }

    /// Floor division of a UTC millisecond instant into (day, millisecond of day).
    @inline(__always)
    static func split(millis: Int64) -> (day: Int64, msOfDay: Int64) {
        var day = millis / millisPerDay
        var rest = millis - day * millisPerDay
        if rest < 0 {
            day -= 1
            rest += millisPerDay
        }
        return (day, rest)
    }

    /// Parses `YYYY-MM-DD` into days since 1970-01-01, nil if it is not a real date.
    static func parseDay(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var v = 0
            for i in range {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10),
            (1...12).contains(m), d >= 1, d <= daysInMonth(year: Int64(y), month: m)
        else { return nil }
        return days(year: Int64(y), month: m, day: d)
    }
}

/// Byte writers for the three timestamp spellings the generator emits.
enum TimestampBytes {
    /// Appends `n` as exactly `width` decimal digits (zero-padded; `n` must fit).
    @inline(__always)
    static func appendDigits(_ n: Int64, width: Int, to out: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor &*= 10 }
        var rest = n
        while divisor > 0 {
            let digit = rest / divisor
            out.append(0x30 &+ UInt8(truncatingIfNeeded: digit))
            rest -= digit * divisor
            divisor /= 10
        }
    }

    /// Appends a non-negative or negative integer in plain decimal.
    @inline(__always)
    static func appendInteger(_ n: Int64, to out: inout [UInt8]) {
        if n < 0 {
            out.append(UInt8(ascii: "-"))
            // Int64.min cannot be negated; no timestamp of ours comes near it.
            appendInteger(-n, to: &out)
            return
        }
        var width = 1
        var limit: Int64 = 10
        while width < 19 && n >= limit {
            width += 1
            limit &*= 10
        }
        appendDigits(n, width: width, to: &out)
    }

    /// `2026-03-02T09:15:02.125Z`, or with `offsetMinutes` ≠ 0 the same instant in local
    /// time, e.g. `2026-03-02T10:15:02.125+01:00`.
    static func appendRFC3339(millis: Int64, offsetMinutes: Int = 0, to out: inout [UInt8]) {
        let local = millis + Int64(offsetMinutes) * 60_000
        let (day, msOfDay) = CivilDate.split(millis: local)
        let date = CivilDate.civil(days: day)
        appendDigits(date.year, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(Int64(date.month), width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(Int64(date.day), width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        let seconds = msOfDay / 1000
        appendDigits(seconds / 3600, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(seconds / 60 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(seconds % 60, width: 2, to: &out)
        out.append(UInt8(ascii: "."))
        appendDigits(msOfDay % 1000, width: 3, to: &out)
        if offsetMinutes == 0 {
            out.append(UInt8(ascii: "Z"))
        } else {
            let magnitude = abs(offsetMinutes)
            out.append(offsetMinutes > 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
            appendDigits(Int64(magnitude / 60), width: 2, to: &out)
            out.append(UInt8(ascii: ":"))
            appendDigits(Int64(magnitude % 60), width: 2, to: &out)
        }
    }
}
