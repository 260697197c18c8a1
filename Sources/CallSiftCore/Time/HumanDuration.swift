/// Human durations for flags: `90s`, `10m`, `6h`, `7d` (also `500ms`, `2w`, and
/// combinations like `1h30m`).
public enum HumanDuration {
    /// Units in the order `format` spends them, largest first. Weeks are parsed but never
    /// printed: `14d` reads better in a report than `2w`, and a week is always 7 days.
    static let formatUnits: [(suffix: String, millis: Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1),
    ]

    /// Milliseconds, or nil if the text is not a duration.
    ///
    /// Grammar: one or more groups of `<digits><unit>`, unit one of `ms`, `s`, `m`, `h`,
    /// `d`, `w` (lower case). Groups are summed, in any order and even repeated (`1h1h` is
    /// `2h`), as Go's `time.ParseDuration` does. A bare number (`90`), a sign, spaces, an
    /// unknown unit, or a total that does not fit in `Int64` milliseconds are all nil.
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        var total: Int64 = 0
        var i = 0
        while i < bytes.count {
            // <digits>
            let start = i
            var value: Int64 = 0
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.addingReportingOverflow(Int64(bytes[i] - UInt8(ascii: "0")))
                guard !o1, !o2 else { return nil }
                value = next
                i += 1
            }
            guard i > start, i < bytes.count else { return nil }
            // <unit>; `m` followed by `s` is milliseconds, otherwise minutes.
            let unit: Int64
            switch bytes[i] {
            case UInt8(ascii: "m"):
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "s") {
                    unit = 1
                    i += 1
                } else {
                    unit = 60_000
                }
            case UInt8(ascii: "s"): unit = 1_000
            case UInt8(ascii: "h"): unit = 3_600_000
            case UInt8(ascii: "d"): unit = 86_400_000
            case UInt8(ascii: "w"): unit = 604_800_000
            default: return nil
            }
            i += 1
            let (scaled, o1) = value.multipliedReportingOverflow(by: unit)
            let (sum, o2) = total.addingReportingOverflow(scaled)
            guard !o1, !o2 else { return nil }
            total = sum
        }
        return total
    }

    /// The shortest exact spelling using the largest units first: 604800000 → `7d`,
    /// 5400000 → `1h30m`, 90000 → `1m30s`, 500 → `500ms`, 0 → `0s`. Zero parts are left
    /// out (3600500 → `1h500ms`); weeks are never used. A negative value gets a leading `-`
    /// (which `parse` does not accept: flags are never negative). `parse(format(x)) == x`
    /// for every x ≥ 0.
    public static func format(millis: Int64) -> String {
        if millis == 0 { return "0s" }
        var rest = millis.magnitude  // UInt64, so Int64.min is fine
        var out = millis < 0 ? "-" : ""
        for (suffix, size) in formatUnits {
            let count = rest / UInt64(size)
            if count > 0 {
                out += String(count)
                out += suffix
                rest -= count * UInt64(size)
            }
        }
        return out
    }
}
