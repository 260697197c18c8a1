import Foundation

/// Local calendar days in one IANA time zone, DST-aware, fast on the hot path.
///
/// Foundation answers "what is the UTC offset at this instant?" correctly but slowly (an
/// ICU call per question), and callsift asks once per contact. So `init` asks Foundation
/// once for every offset change from 1900 to 2200 and keeps them as an immutable table
/// of intervals `[start, next start) → offset`, plus a bucket index over it, so
/// `day(ofUTCMillis:)` is a shift, one or two comparisons and two divisions (about 5 ns in
/// a release build). Instants outside the table fall back to Foundation, so they are slow
/// but still right.
///
/// Because the table is immutable once built, a `LocalCalendar` is an ordinary `Sendable`
/// value: copies share the table and any number of threads may use it at once. (A lazily
/// filled cache would have needed a mutable class box and `@unchecked Sendable`; building
/// the whole table costs about a millisecond per zone at start-up, which is cheaper than
/// that trouble.)
public struct LocalCalendar: Sendable {
    /// The IANA zone name as given, e.g. `Europe/London` or `UTC`.
    public let identifier: String

    /// Why a zone could not be used. A struct over a private enum, so cases can be added.
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        private enum Kind: Sendable { case unknownZone(String) }
        private let kind: Kind
        /// The zone `identifier` is not one Foundation's time-zone database knows.
        public static func unknownZone(_ identifier: String) -> Error { Error(kind: .unknownZone(identifier)) }
        /// e.g. `unknown time zone "Europe/Lndon" (expected an IANA name like Europe/London, or UTC)`.
        public var description: String {
            switch kind {
            case .unknownZone(let name):
                return "unknown time zone \"\(name)\" (expected an IANA name like Europe/London, or UTC)"
            }
        }
    }

    /// The zone, for instants outside the table.
    private let timeZone: TimeZone
    /// `starts[i]` is the UTC millisecond at which `offsets[i]` takes effect; ascending.
    /// `starts[0]` is `tableStart`, and the last interval ends at `tableEnd`.
    private let starts: [Int64]
    /// Local minus UTC, in milliseconds, for `[starts[i], starts[i + 1])`.
    private let offsets: [Int64]
    /// `firstInterval[b]` is the interval holding the start of bucket b, i.e. of instant
    /// `tableStart + b << bucketShift`. Buckets are 2³¹ ms (about 24.9 days), shorter
    /// than the gap between almost all offset changes, so the interval for an instant is
    /// its bucket's first interval or, rarely, one or two after it.
    private let firstInterval: [Int32]
    private let tableEnd: Int64
    static let bucketShift: Int64 = 31

    /// 1900-01-01T00:00:00Z and 2200-01-01T00:00:00Z, in UTC milliseconds.
    static let tableStart: Int64 = -2_208_988_800_000
    static let tableLimit: Int64 = 7_258_118_400_000

    /// Loads `identifier` and tabulates its offsets from 1900 to 2200.
    ///
    /// - Throws: `LocalCalendar.Error` naming the zone if it is unknown.
    /// - Complexity: O(t) Foundation calls for t offset changes in the range (about 600
    ///   for Europe/London, none for UTC).
    public init(identifier: String) throws {
        guard let zone = TimeZone(identifier: identifier) else {
            throw Error.unknownZone(identifier)
        }
        self.identifier = identifier
        self.timeZone = zone

        var starts: [Int64] = [Self.tableStart]
        var offsets: [Int64] = [Self.offsetMillis(zone, at: Self.tableStart)]
        var cursor = Self.date(Self.tableStart)
        let limit = Self.date(Self.tableLimit)
        // Despite its name this visits every change of offset ICU knows, not only DST
        // ones (e.g. Europe/Moscow's 2014 move from +04 to +03).
        while let next = zone.nextDaylightSavingTimeTransition(after: cursor), next < limit {
            let at = Self.millis(next)
            let offset = Self.offsetMillis(zone, at: at)
            // Some transitions only rename the zone or swap DST for standard time at the
            // same total offset; they do not move day boundaries, so merge them.
            if at > starts[starts.count - 1], offset != offsets[offsets.count - 1] {
                starts.append(at)
                offsets.append(offset)
            }
            cursor = next
        }
        // One pass over buckets and intervals together, both ascending.
        let bucketCount = Int((Self.tableLimit - Self.tableStart) >> Self.bucketShift) + 1
        var firstInterval: [Int32] = []
        firstInterval.reserveCapacity(bucketCount)
        var interval = 0
        for bucket in 0..<bucketCount {
            let bucketStart = Self.tableStart + Int64(bucket) << Self.bucketShift
            while interval + 1 < starts.count, starts[interval + 1] <= bucketStart { interval += 1 }
            firstInterval.append(Int32(interval))
        }
        self.starts = starts
        self.offsets = offsets
        self.firstInterval = firstInterval
        self.tableEnd = Self.tableLimit
    }

    /// The local day containing instant `millis` (UTC ms), as days since 1970-01-01:
    /// floor((millis + offset at that instant) / 86 400 000).
    ///
    /// - Complexity: O(1) in practice (O(k) for k offset changes within one 25-day bucket);
    ///   no allocation.
    public func day(ofUTCMillis millis: Int64) -> Int32 {
        let offset = offsetMillis(atUTCMillis: millis)
        // floor((millis + offset) / day) without forming millis + offset, which could
        // overflow near Int64's ends: split millis into whole days and a remainder in
        // [0, day), then the remainder plus an offset of at most a day or so is safe.
        let (days, msOfDay) = floorDivMod(millis, 86_400_000)
        let (carry, _) = floorDivMod(msOfDay + offset, 86_400_000)
        return Int32(truncatingIfNeeded: days + carry)
    }

    /// `day(ofUTCMillis: millis)`, with the instants around `millis` that share its day
    /// and its offset, `from ..< to`: a caller taking instants nearly in order (the
    /// aggregator, contact by contact) keeps the range and needs no division until an
    /// instant falls outside it. Outside the table the range is `millis` alone (empty
    /// for `Int64.max`).
    public func dayAndRange(ofUTCMillis millis: Int64) -> (day: Int32, from: Int64, to: Int64) {
        guard millis >= Self.tableStart, millis < tableEnd else {
            return (day(ofUTCMillis: millis), millis, millis == .max ? millis : millis + 1)
        }
        var i = Int(firstInterval[Int((millis - Self.tableStart) >> Self.bucketShift)])
        while i + 1 < starts.count, starts[i + 1] <= millis { i += 1 }
        let offset = offsets[i]
        let intervalEnd = i + 1 < starts.count ? starts[i + 1] : tableEnd
        let day = self.day(ofUTCMillis: millis)
        // The local day's first instant, in UTC, under this interval's offset.
        let dayStart = Int64(day) * 86_400_000 - offset
        return (day, max(starts[i], dayStart), min(intervalEnd, dayStart + 86_400_000))
    }

    /// The first instant (UTC ms) of local day `day`: where `day(ofUTCMillis:)` turns to it.
    public func start(ofDay day: Int32) -> Int64 {
        let midnight = Int64(day) * 86_400_000
        // Local midnight less the offset then; the offset there may differ from the one
        // at UTC midnight by a transition in between, so look again from the first guess,
        // and step to where the day actually begins.
        var t = midnight - offsetMillis(atUTCMillis: midnight)
        t = midnight - offsetMillis(atUTCMillis: t)
        if self.day(ofUTCMillis: t) == day && self.day(ofUTCMillis: t - 1) < day { return t }
        // Otherwise (a transition near midnight): the least instant of the day, found by
        // bisection between an instant before it and one in it.
        var lo = t - 86_400_000, hi = t + 86_400_000
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2
            if self.day(ofUTCMillis: mid) >= day { hi = mid } else { lo = mid }
        }
        return hi
    }

    /// Local time minus UTC, in milliseconds, at instant `millis`.
    ///
    /// - Complexity: O(1) in practice inside 1900–2200, a Foundation call outside it.
    public func offsetMillis(atUTCMillis millis: Int64) -> Int64 {
        guard millis >= Self.tableStart, millis < tableEnd else {
            return Self.offsetMillis(timeZone, at: millis)
        }
        // Start at the interval holding the bucket's start (starts[i] <= millis), then step
        // forward past any changes between the bucket's start and `millis`.
        var i = Int(firstInterval[Int((millis - Self.tableStart) >> Self.bucketShift)])
        while i + 1 < starts.count, starts[i + 1] <= millis { i += 1 }
        return offsets[i]
    }

    // MARK: - Foundation conversions (cold)

    @inline(never)
    static func offsetMillis(_ zone: TimeZone, at millis: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: date(millis))) * 1_000
    }

    static func date(_ millis: Int64) -> Date {
        Date(timeIntervalSince1970: Double(millis) / 1_000)
    }

    static func millis(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000).rounded())
    }
}
