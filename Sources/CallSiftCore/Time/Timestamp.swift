/// Timestamps as docs/metrics.md, "Values", allows them, and as the output prints them.
///
/// Internally every instant is UTC milliseconds since 1970-01-01T00:00:00Z in an `Int64`.
public enum Timestamp {
    /// Parses one `ts` field; returns UTC milliseconds, or nil if the bytes are not exactly
    /// one of the accepted forms.
    ///
    /// Accepted:
    /// - Unix epoch milliseconds: optional `-`, then 1–18 ASCII digits, nothing else.
    /// - RFC 3339: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, where the `T` may be
    ///   `t` or one space and the `Z` may be `z`. The fraction has at least one digit and
    ///   any number more; it is truncated (floored) to milliseconds. Month 1–12, day within
    ///   the month (leap years honoured), hour ≤ 23, minute and second ≤ 59 (no leap
    ///   second 60), offset hours ≤ 23 and offset minutes ≤ 59. The result is the local
    ///   time minus the offset.
    ///
    /// Anything else (empty input, surrounding spaces, a missing offset, a missing fraction
    /// digit after `.`) is nil.
    ///
    /// This runs once per event: it reads the bytes in place, builds no `String`, uses no
    /// Foundation and never allocates.
    ///
    /// - Complexity: O(n) in the byte count, one pass.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var days = DayCache()
        return parse(bytes, days: &days)
    }

    /// `parse`, remembering the day of the last RFC 3339 date read in `days`: consecutive
    /// lines of a log nearly always share their date, and a date whose ten bytes equal the
    /// remembered ones has already been validated and counted. The result is exactly that
    /// of `parse`.
    @inline(__always)
    public static func parse(_ bytes: UnsafeRawBufferPointer, days: inout DayCache) -> Int64? {
        // The shortest RFC 3339 form, `YYYY-MM-DDTHH:MM:SSZ`, is 20 bytes; the longest
        // epoch form, `-` and 18 digits, is 19. So the length alone picks the grammar.
        guard let base = bytes.baseAddress else { return nil }
        let p = RawBytes(base)
        let count = bytes.count
        return count >= 20 ? parseRFC3339(p, count, &days) : parseEpochMillis(p, count)
    }

    /// The `YYYY-MM-DD` of the last valid RFC 3339 date parsed, and its day number (days
    /// since 1970-01-01). One per parser; see `parse(_:days:)`.
    public struct DayCache {
        /// Bytes 0–7 and 8–9 of the date as loaded; meaningful once `isSet`.
        var head: UInt64 = 0
        var tail: UInt16 = 0
        var day: Int64 = 0
        var isSet = false

        public init() {}
    }

    /// `2026-03-02T09:15:02.125Z`: RFC 3339 in UTC, always three fraction digits. Negative
    /// instants (before 1970) are floored, so -1 prints as `1969-12-31T23:59:59.999Z`.
    /// Years outside 0000–9999 print with more digits (and a `-` before year 0), which is
    /// no longer RFC 3339 but still unambiguous.
    public static func format(millis: Int64) -> String {
        let (days, msOfDay) = floorDivMod(millis, 86_400_000)
        let date = CivilDate(daysSinceEpoch: days)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendDecimal(date.year, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDecimal(Int64(date.month), width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDecimal(Int64(date.day), width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDecimal(msOfDay / 3_600_000, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDecimal(msOfDay / 60_000 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDecimal(msOfDay / 1_000 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: "."))
        appendDecimal(msOfDay % 1_000, width: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Hot-path helpers

    /// The value of ASCII digit `byte`, or a number ≥ 10 if it is not one. The subtraction
    /// wraps on purpose, so bytes below `0` also land far above 9 and one unsigned
    /// comparison rejects both sides.
    @inline(__always)
    static func digit(_ byte: UInt8) -> UInt8 { byte &- UInt8(ascii: "0") }

    /// Two digits at `p[i]`, `p[i+1]`, or nil.
    @inline(__always)
    static func twoDigits(_ p: RawBytes, _ i: Int) -> Int64? {
        let a = digit(p[i]), b = digit(p[i + 1])
        guard a < 10, b < 10 else { return nil }
        return Int64(a) &* 10 &+ Int64(b)
    }

    /// `-?[0-9]{1,18}` covering all `count` bytes. 18 digits stay below 10^18 < 2^63, so
    /// the accumulation cannot overflow and wrapping arithmetic is exact.
    @inline(__always)
    static func parseEpochMillis(_ p: RawBytes, _ count: Int) -> Int64? {
        var i = 0
        let negative = count > 0 && p[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        let digits = count - i
        guard digits >= 1, digits <= 18 else { return nil }
        var value: Int64 = 0
        while i < count {
            let d = digit(p[i])
            guard d < 10 else { return nil }
            value = value &* 10 &+ Int64(d)
            i &+= 1
        }
        return negative ? -value : value
    }

    /// RFC 3339 over exactly `count` (≥ 20) bytes. Fixed positions up to the seconds, then
    /// an optional fraction, then the offset, which must end the input.
    @inline(__always)
    static func parseRFC3339(_ p: RawBytes, _ count: Int, _ cache: inout DayCache) -> Int64? {
        // YYYY-MM-DD: the same ten bytes as the last valid date give the same day.
        let raw = p.base
        let head = raw.loadUnaligned(as: UInt64.self)
        let tail = raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
        let days: Int64
        if cache.isSet && cache.head == head && cache.tail == tail {
            days = cache.day
        } else {
            guard let d = parseDate(p) else { return nil }
            days = d
            cache.head = head; cache.tail = tail; cache.day = d; cache.isSet = true
        }

        if let t = timeOfDayUTC(p, count) { return days &* 86_400_000 &+ t }

        // T / t / space, then HH:MM:SS
        let sep = p[10]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " "),
            let hour = twoDigits(p, 11), p[13] == UInt8(ascii: ":"),
            let minute = twoDigits(p, 14), p[16] == UInt8(ascii: ":"),
            let second = twoDigits(p, 17),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }

        // Optional fraction: keep the first three digits (padding with zeros), skip the rest.
        var i = 19
        var millis: Int64 = 0
        if p[i] == UInt8(ascii: ".") {
            i &+= 1
            let start = i
            while i < count {
                let d = digit(p[i])
                if d >= 10 { break }
                if i &- start < 3 { millis = millis &* 10 &+ Int64(d) }
                i &+= 1
            }
            let fractionDigits = i &- start
            guard fractionDigits >= 1 else { return nil }
            if fractionDigits == 1 { millis &*= 100 } else if fractionDigits == 2 { millis &*= 10 }
        }

        // Offset: Z / z, or ±HH:MM, and then the end of the input.
        guard i < count else { return nil }
        let offsetMillis: Int64
        let o = p[i]
        if o == UInt8(ascii: "Z") || o == UInt8(ascii: "z") {
            guard i &+ 1 == count else { return nil }
            offsetMillis = 0
        } else if o == UInt8(ascii: "+") || o == UInt8(ascii: "-") {
            guard i &+ 6 == count,
                let offsetHours = twoDigits(p, i &+ 1), p[i &+ 3] == UInt8(ascii: ":"),
                let offsetMinutes = twoDigits(p, i &+ 4),
                offsetHours <= 23, offsetMinutes <= 59
            else { return nil }
            let magnitude = (offsetHours &* 60 &+ offsetMinutes) &* 60_000
            offsetMillis = o == UInt8(ascii: "+") ? magnitude : -magnitude
        } else {
            return nil
        }

        // Four-digit years keep every term far inside Int64, so wrapping is exact.
        let secondsOfDay = hour &* 3_600 &+ minute &* 60 &+ second
        return (days &* 86_400 &+ secondsOfDay) &* 1_000 &+ millis &- offsetMillis
    }

    /// The milliseconds into the day of `THH:MM:SSZ` or `THH:MM:SS.mmmZ` (`T` also `t` or a
    /// space, `Z` also `z`) after the date, the forms nearly every log writes; nil for any
    /// other, which the general path reads (or rejects). Where this gives a value, the
    /// general path gives the same one: it only reads the same bytes eight at a time.
    ///
    /// Digits and colons all have 3 as their high nibble, and a digit's low nibble is at
    /// most 9: adding 6 to it does not carry into the high nibble. No byte's test can
    /// borrow from or carry into its neighbour's.
    @inline(__always)
    static func timeOfDayUTC(_ p: RawBytes, _ count: Int) -> Int64? {
        guard count == 20 || count == 24 else { return nil }
        let zone = p[count &- 1]
        guard zone == UInt8(ascii: "Z") || zone == UInt8(ascii: "z") else { return nil }
        let sep = p[10]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else { return nil }
        // Bytes 11 to 18, `HH:MM:SS`, as a little-endian word: byte k of the word is p[11 + k].
        let w = p.base.loadUnaligned(fromByteOffset: 11, as: UInt64.self)
        let digitBytes: UInt64 = 0xFFFF_00FF_FF00_FFFF  // bytes 0, 1, 3, 4, 6, 7
        let low = w & 0x0F0F_0F0F_0F0F_0F0F
        guard w & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030,
            w & 0x0000_FF00_00FF_0000 == 0x0000_3A00_003A_0000,
            (low &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 & digitBytes == 0
        else { return nil }
        @inline(__always) func byte(_ k: UInt64) -> Int64 { Int64(truncatingIfNeeded: (low >> (8 &* k)) & 0xFF) }
        let hour = byte(0) &* 10 &+ byte(1)
        let minute = byte(3) &* 10 &+ byte(4)
        let second = byte(6) &* 10 &+ byte(7)
        guard hour <= 23, minute <= 59, second <= 59 else { return nil }
        var millis: Int64 = 0
        if count == 24 {
            // Bytes 19 to 22, `.mmm`.
            let f = p.base.loadUnaligned(fromByteOffset: 19, as: UInt32.self)
            let lowF = f & 0x0F0F_0F00
            guard f & 0xFF == 0x2E, f & 0xF0F0_F000 == 0x3030_3000, (lowF &+ 0x0606_0600) & 0xF0F0_F000 == 0 else { return nil }
            millis = Int64((lowF >> 8) & 0xF) &* 100 &+ Int64((lowF >> 16) & 0xF) &* 10 &+ Int64(lowF >> 24)
        }
        return (hour &* 3_600 &+ minute &* 60 &+ second) &* 1_000 &+ millis
    }

    /// The day number of the `YYYY-MM-DD` at `p` (at least ten bytes), or nil if it is not
    /// a valid date: month 1–12, day within the month.
    @inline(__always)
    static func parseDate(_ p: RawBytes) -> Int64? {
        guard let yHigh = twoDigits(p, 0), let yLow = twoDigits(p, 2),
            p[4] == UInt8(ascii: "-"), let month = twoDigits(p, 5),
            p[7] == UInt8(ascii: "-"), let day = twoDigits(p, 8)
        else { return nil }
        let year = yHigh &* 100 &+ yLow
        guard month >= 1, month <= 12, day >= 1 else { return nil }
        // Month lengths without a table: 30 for April, June, September, November; 28/29 for
        // February; 31 otherwise.
        let monthLength: Int64
        if month == 2 {
            monthLength = CivilDate.isLeapYear(year) ? 29 : 28
        } else if month == 4 || month == 6 || month == 9 || month == 11 {
            monthLength = 30
        } else {
            monthLength = 31
        }
        guard day <= monthLength else { return nil }
        return CivilDate.daysFromCivil(year: year, month: month, day: day)
    }
}
