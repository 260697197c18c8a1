import CallSift
import CallSiftCore
import Foundation

/// The wallboard's figures as JSON (`/board.json`, and each `/events` message): per
/// centre and service, today (the day of the latest event in `--tz`, from the day rows a
/// follower's report carries whatever its `--period`), with exact counts and each rate as
/// its numerator and denominator, so that the page prints exact percentages; the callers
/// waiting now per queue; and per centre the first-contact resolution of the latest
/// earlier day with enough contacts old enough to judge (`--min-cell`).
enum BoardFigures {
    static func render(
        _ r: Report, version: Int, emittedAt: Date, stallAfter: TimeInterval, minCell: Int64
    ) -> [UInt8] {
        var o = "{"
        o += "\"version\":\(version),\"updated_ms\":\(Int64((emittedAt.timeIntervalSince1970 * 1000).rounded()))"
        o += ",\"stall_after_ms\":\(Int64(stallAfter * 1000)),\"min_cell\":\(minCell)"
        o += ",\"period_kind\":\(string(r.dayRows != nil ? "day" : r.settings.period.rawValue)),\"time_zone\":\(string(r.settings.timeZone))"
        // Today by day, whatever the report's period (the follower asks for day rows).
        let rows = r.dayRows ?? r.rows
        let byDay = r.dayRows != nil
        let current = currentPeriod(r, byDay: byDay)
        let today = r.horizon.flatMap { h in (try? LocalCalendar(identifier: r.settings.timeZone)).map { $0.day(ofUTCMillis: h) } }
        o += ",\"period\":\(current.map(string) ?? "null")"
        o += ",\"horizon_ms\":\(r.horizon.map { String($0) } ?? "null")"
        o += ",\"centres\":["
        var first = true
        for centre in centres(r, rows) {
            if !first { o += "," }
            first = false
            let todays = rows.filter { $0.centre == centre && $0.period == current }
            var total = Counters()
            for row in todays { total.merge(row.counters) }
            o += "{\"centre\":\(string(centre)),\"total\":\(figures(total, minCell: minCell)),\"services\":["
            o += todays.map { "{\"service\":\(string($0.service ?? "")),\"figures\":\(figures($0.counters, minCell: minCell))}" }
                .joined(separator: ",")
            // Callers in a queue now: counts are never suppressed (they are not rates).
            o += "],\"waiting\":["
            o += r.waiting.filter { $0.centre == centre }
                .map { "{\"service\":\(string($0.service)),\"calls\":\($0.calls),\"longest_ms\":\($0.longestMs)}" }
                .joined(separator: ",")
            // Arrivals read today, hour by hour (the follower's count since it started).
            let hours = r.hourly[centre].flatMap { $0.day == today ? $0.hours : nil } ?? Array(repeating: 0, count: 24)
            o += "],\"hourly\":[\(hours.map(String.init).joined(separator: ","))"
            o += "],\"fcr\":\(fcr(rows, centre: centre, before: current, minCell: minCell))}"
        }
        o += "]}"
        return Array(o.utf8)
    }

    /// The label of the day (or, without day rows, the report's period) holding the
    /// report's latest event.
    static func currentPeriod(_ r: Report, byDay: Bool) -> String? {
        guard let h = r.horizon, let calendar = try? LocalCalendar(identifier: r.settings.timeZone) else { return nil }
        return (byDay ? Period.day : r.settings.period).label(ofDay: calendar.day(ofUTCMillis: h))
    }

    /// The centres of the report, in its order.
    private static func centres(_ r: Report, _ rows: [Report.Row]) -> [String] {
        var seen = Set<String>(), order: [String] = []
        for row in rows where seen.insert(row.centre).inserted { order.append(row.centre) }
        for w in r.waiting where seen.insert(w.centre).inserted { order.append(w.centre) }
        return order
    }

    private static func figures(_ c: Counters, minCell: Int64) -> String {
        let answerable = c.handled + c.abandoned - c.shortAbandoned
        var o = "{\"contacts\":\(c.contacts),\"handled\":\(c.handled),\"abandoned\":\(c.abandoned)"
        o += ",\"abandon_rate\":\(rate(c.abandoned - c.shortAbandoned, answerable, minCell))"
        o += ",\"service_level\":\(rate(c.answeredInSL, answerable, minCell))"
        o += ",\"asa_ms\":\(c.handled >= max(minCell, 1) ? String(c.waitMsSum / c.handled) : "null")"
        o += ",\"repeat_rate\":\(rate(c.repeats, c.contacts, minCell))"
        o += ",\"avoidable_rate\":\(rate(c.avoidable, c.contacts, minCell))}"
        return o
    }

    /// `{"x":…,"n":…}`, or null when `n` is below the smallest cell shown.
    private static func rate(_ x: Int64, _ n: Int64, _ minCell: Int64) -> String {
        n >= max(minCell, 1) ? "{\"x\":\(x),\"n\":\(n)}" : "null"
    }

    /// The latest day before `current` whose first-contact resolution can be judged
    /// for `centre`, with its Wilson interval; null when there is none (today's cannot be
    /// known yet: its callers may still ring again).
    private static func fcr(_ rows: [Report.Row], centre: String, before current: String?, minCell: Int64) -> String {
        var byPeriod: [String: Counters] = [:]
        for row in rows where row.centre == centre && (current == nil || row.period < current!) {
            byPeriod[row.period, default: Counters()].merge(row.counters)
        }
        guard let (period, c) = byPeriod.filter({ $0.value.fcrEligible >= max(minCell, 1) }).max(by: { $0.key < $1.key }),
            let w = Wilson.interval(x: c.fcr, n: c.fcrEligible)
        else { return "null" }
        return "{\"period\":\(string(period)),\"x\":\(c.fcr),\"n\":\(c.fcrEligible),\"lo\":\(w.lo),\"hi\":\(w.hi),\"pending\":\(c.fcrPending)}"
    }

    /// A JSON string.
    static func string(_ s: String) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "<": o += "\\u003c"  // never `</script>` inside the page
            default:
                if u.value < 0x20 { o += String(format: "\\u%04x", u.value) } else { o.unicodeScalars.append(u) }
            }
        }
        return o + "\""
    }
}
