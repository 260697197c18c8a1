import CallSiftCore
import CallSiftFormats

/// Arrivals per centre and local hour of the latest day seen, kept by a follower for the
/// wallboard's chart (docs/metrics.md, "Wallboard"): every `arrive` event the engine
/// takes, counted by the hour of its `ts` in `--tz`. Kept across the follower's sessions
/// (not in the state: a restart starts counting again).
///
/// Thread-safe: the engine's merge adds to it (one thread: its writes are never lost),
/// the follower's previews read it.
public final class HourlyArrivals: Sendable {
    /// Per centre: the day counted and its 24 hours of local clock time (on the day clocks
    /// go back, both passes of the repeated hour count in it).
    public struct Day: Sendable, Equatable {
        public var day: Int32
        public var hours: [Int64]
    }

    private let calendar: LocalCalendar
    private let days = Locked<[String: Day]>([:])

    public init(timeZone: String) throws { calendar = try LocalCalendar(identifier: timeZone) }

    /// Each centre's latest day seen, with its counts.
    public var snapshot: [String: Day] { days.withLock { $0 } }

    /// The counts with `events` added, leaving these as they are: a preview's events read
    /// but not merged yet (the merge holds the latest lateness bound of them back).
    func snapshot(adding events: [Event], name: (Int32) -> String) -> [String: Day] {
        var d = snapshot
        events.withUnsafeBufferPointer { Self.count($0, calendar: calendar, name: name, into: &d) }
        return d
    }

    /// Counts the arrivals among `events`; `name` gives a centre id's name.
    func add(_ events: UnsafeBufferPointer<Event>, name: (Int32) -> String) {
        guard events.contains(where: { $0.kind == .arrive }) else { return }
        var d = snapshot
        Self.count(events, calendar: calendar, name: name, into: &d)
        days.withLock { $0 = d }
    }

    private static func count(
        _ events: UnsafeBufferPointer<Event>, calendar: LocalCalendar, name: (Int32) -> String, into d: inout [String: Day]
    ) {
        // Gathered by centre id first: one lock and one name per centre and run.
        var local: [Int32: [(day: Int32, hour: Int)]] = [:]
        for e in events where e.kind == .arrive {
            let local0 = e.ts &+ calendar.offsetMillis(atUTCMillis: e.ts)
            let day = calendar.day(ofUTCMillis: e.ts)
            let msOfDay = local0 - Int64(day) * 86_400_000
            let hour = Int(max(0, min(23, msOfDay / 3_600_000)))
            local[e.centre, default: []].append((day, hour))
        }
        for (id, seen) in local {
            let centre = name(id)
            for (day, hour) in seen {
                var current = d[centre] ?? Day(day: day, hours: Array(repeating: 0, count: 24))
                if day > current.day { current = Day(day: day, hours: Array(repeating: 0, count: 24)) }
                if day == current.day { current.hours[hour] += 1 }
                d[centre] = current
            }
        }
    }
}
