// INTERFACE STUB: the time-and-statistics work replaces this file with real
// implementations (one file per type) and tests. Signatures are fixed.

/// Timestamps as SPEC.md section 1 allows them, and as the output prints them.
public enum Timestamp {
    /// Parses RFC 3339 (`2026-03-02T09:15:02Z`, `2026-03-02T09:15:02.125+01:00`) or an
    /// integer Unix epoch in milliseconds; returns UTC milliseconds, nil if invalid.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int64? { fatalError("stub") }
    /// `2026-03-02T09:15:02.125Z`: RFC 3339, UTC, always three fraction digits.
    public static func format(millis: Int64) -> String { fatalError("stub") }
}

/// Human durations for flags: `90s`, `10m`, `6h`, `7d` (also `500ms`, and combinations like `1h30m`).
public enum HumanDuration {
    /// Milliseconds, or nil if the text is not a duration.
    public static func parse(_ text: String) -> Int64? { fatalError("stub") }
    /// The shortest exact spelling, e.g. 604800000 → `7d`, 5400000 → `1h30m`.
    public static func format(millis: Int64) -> String { fatalError("stub") }
}

/// Local calendar days in one IANA time zone, DST-aware, fast on the hot path.
public struct LocalCalendar: Sendable {
    public let identifier: String
    /// Throws if `identifier` is not a known IANA zone.
    public init(identifier: String) throws { fatalError("stub") }
    /// The local day containing instant `millis` (UTC ms), as days since 1970-01-01.
    public func day(ofUTCMillis millis: Int64) -> Int32 { fatalError("stub") }
}

/// Reporting periods (SPEC.md section 5).
public enum Period: String, Sendable, CaseIterable {
    case day, week, month, quarter, fyquarter, all
    /// Label of the period containing `day` (days since 1970-01-01):
    /// `2026-03-02`, `2026-W10`, `2026-03`, `2026-Q1`, `2026-27 Q1`, `all`.
    public func label(ofDay day: Int32) -> String { fatalError("stub") }
}

/// Wilson score interval, SPEC.md section 5.
public enum Wilson {
    public static let z = 1.959963984540054
    /// `value` = x/n, `lo`, `hi`; nil when n = 0.
    public static func interval(x: Int64, n: Int64) -> (value: Double, lo: Double, hi: Double)? { fatalError("stub") }
}
