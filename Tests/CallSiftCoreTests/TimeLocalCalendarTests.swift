import Foundation
import Testing
@testable import CallSiftCore

private func utc(_ text: String) -> Int64 {
    var text = text
    return text.withUTF8 { Timestamp.parse(UnsafeRawBufferPointer($0)) }!
}

private func label(_ calendar: LocalCalendar, _ text: String) -> String {
    Period.day.label(ofDay: calendar.day(ofUTCMillis: utc(text)))
}

@Suite struct TimeLocalCalendarTests {
    @Test func utcZone() throws {
        let calendar = try LocalCalendar(identifier: "UTC")
        #expect(calendar.identifier == "UTC")
        #expect(calendar.day(ofUTCMillis: 0) == 0)
        #expect(calendar.day(ofUTCMillis: -1) == -1)
        #expect(calendar.day(ofUTCMillis: 86_399_999) == 0)
        #expect(calendar.day(ofUTCMillis: 86_400_000) == 1)
        #expect(label(calendar, "2026-03-02T23:59:59.999Z") == "2026-03-02")
    }

    @Test func unknownZoneThrowsNamingIt() {
        do {
            _ = try LocalCalendar(identifier: "Europe/Lndon")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("Europe/Lndon"))
        }
        #expect(throws: LocalCalendar.Error.self) { try LocalCalendar(identifier: "") }
    }

    @Test func londonSpringForward2026() throws {
        // Clocks go forward at 01:00 UTC on 2026-03-29: GMT (+00:00) → BST (+01:00).
        let london = try LocalCalendar(identifier: "Europe/London")
        #expect(label(london, "2026-03-28T23:30:00Z") == "2026-03-28")
        #expect(label(london, "2026-03-29T00:30:00Z") == "2026-03-29")
        #expect(london.offsetMillis(atUTCMillis: utc("2026-03-29T00:59:59.999Z")) == 0)
        #expect(london.offsetMillis(atUTCMillis: utc("2026-03-29T01:00:00Z")) == 3_600_000)
        #expect(label(london, "2026-03-29T22:59:59.999Z") == "2026-03-29")  // 23:59:59.999 BST
        #expect(label(london, "2026-03-29T23:00:00Z") == "2026-03-30")  // midnight BST
    }

    @Test func londonFallBack2026() throws {
        // Clocks go back at 01:00 UTC on 2026-10-25: BST (+01:00) → GMT (+00:00).
        let london = try LocalCalendar(identifier: "Europe/London")
        #expect(label(london, "2026-10-24T22:59:59.999Z") == "2026-10-24")
        #expect(label(london, "2026-10-24T23:30:00Z") == "2026-10-25")  // 00:30 BST
        #expect(london.offsetMillis(atUTCMillis: utc("2026-10-25T00:59:59.999Z")) == 3_600_000)
        #expect(london.offsetMillis(atUTCMillis: utc("2026-10-25T01:00:00Z")) == 0)
        #expect(label(london, "2026-10-25T23:59:59.999Z") == "2026-10-25")  // GMT again
        #expect(label(london, "2026-10-26T00:00:00Z") == "2026-10-26")
    }

    @Test func newYork2026() throws {
        // EST −05:00 until 2026-03-08 07:00 UTC, EDT −04:00 until 2026-11-01 06:00 UTC.
        let newYork = try LocalCalendar(identifier: "America/New_York")
        #expect(label(newYork, "2026-03-08T04:59:59.999Z") == "2026-03-07")
        #expect(label(newYork, "2026-03-08T05:00:00Z") == "2026-03-08")
        #expect(newYork.offsetMillis(atUTCMillis: utc("2026-03-08T06:59:59.999Z")) == -18_000_000)
        #expect(newYork.offsetMillis(atUTCMillis: utc("2026-03-08T07:00:00Z")) == -14_400_000)
        #expect(label(newYork, "2026-07-01T03:59:59.999Z") == "2026-06-30")
        #expect(label(newYork, "2026-07-01T04:00:00Z") == "2026-07-01")
        #expect(label(newYork, "2026-11-01T04:30:00Z") == "2026-11-01")  // 00:30 EDT
        #expect(newYork.offsetMillis(atUTCMillis: utc("2026-11-01T05:59:59.999Z")) == -14_400_000)
        #expect(newYork.offsetMillis(atUTCMillis: utc("2026-11-01T06:00:00Z")) == -18_000_000)
        #expect(label(newYork, "2026-11-02T04:30:00Z") == "2026-11-01")  // 23:30 EST
        #expect(label(newYork, "2026-11-02T05:00:00Z") == "2026-11-02")
    }

    @Test func nonHourOffsets() throws {
        let kolkata = try LocalCalendar(identifier: "Asia/Kolkata")  // +05:30 all year
        #expect(label(kolkata, "2026-03-01T18:29:59.999Z") == "2026-03-01")
        #expect(label(kolkata, "2026-03-01T18:30:00Z") == "2026-03-02")
        #expect(label(kolkata, "2026-07-01T18:30:00Z") == "2026-07-02")

        // Lord Howe: +11:00 in the southern summer, +10:30 in winter (a half-hour DST).
        let lordHowe = try LocalCalendar(identifier: "Australia/Lord_Howe")
        #expect(label(lordHowe, "2026-03-01T12:59:59.999Z") == "2026-03-01")
        #expect(label(lordHowe, "2026-03-01T13:00:00Z") == "2026-03-02")
        #expect(label(lordHowe, "2026-07-01T13:29:59.999Z") == "2026-07-01")
        #expect(label(lordHowe, "2026-07-01T13:30:00Z") == "2026-07-02")
    }

    /// The table against Foundation itself: on a sweep across 1900–2200 stepping a day and
    /// 77 minutes (so every time of day comes up), and one millisecond either side of every
    /// transition Foundation reports, and outside the table where it falls back.
    @Test(arguments: [
        "UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
        "Europe/Moscow", "Pacific/Apia", "Pacific/Chatham", "America/St_Johns", "Asia/Kathmandu",
    ])
    func agreesWithFoundation(_ identifier: String) throws {
        let calendar = try LocalCalendar(identifier: identifier)
        let zone = try #require(TimeZone(identifier: identifier))
        func expectedDay(_ millis: Int64) -> Int32 {
            let seconds = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(millis) / 1_000))
            let local = millis + Int64(seconds) * 1_000
            return Int32((local >= 0 ? local : local - 86_399_999) / 86_400_000)
        }
        var mismatches: [Int64] = []
        var t: Int64 = -2_208_988_800_000 - 86_400_000 * 400
        while t < 7_258_118_400_000 + 86_400_000 * 400 {
            if calendar.day(ofUTCMillis: t) != expectedDay(t) { mismatches.append(t) }
            t += 86_400_000 + 77 * 60_000
        }
        var cursor = Date(timeIntervalSince1970: -2_208_988_800)
        while let next = zone.nextDaylightSavingTimeTransition(after: cursor),
            next < Date(timeIntervalSince1970: 7_258_118_400)
        {
            let at = Int64((next.timeIntervalSince1970 * 1_000).rounded())
            for probe in [at - 1, at, at + 1] where calendar.day(ofUTCMillis: probe) != expectedDay(probe) {
                mismatches.append(probe)
            }
            cursor = next
        }
        #expect(mismatches.isEmpty, "\(identifier): \(mismatches.prefix(5).map(Timestamp.format(millis:)))")
    }

    /// Every instant of the range `dayAndRange` gives falls on its day: checked at the
    /// range's ends, one millisecond outside them (where the day or the offset changes, or
    /// the table ends), and at instants across 1900–2200 and around every transition.
    @Test(arguments: ["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia", "Pacific/Chatham"])
    func dayRangesHoldOneDay(_ identifier: String) throws {
        let calendar = try LocalCalendar(identifier: identifier)
        let zone = try #require(TimeZone(identifier: identifier))
        var probes: [Int64] = [.min, -2_208_988_800_000 - 1, 7_258_118_400_000]
        var t: Int64 = -2_208_988_800_000 - 86_400_000 * 3
        while t < 7_258_118_400_000 + 86_400_000 * 3 {
            probes.append(t)
            t += 86_400_000 * 7 + 53 * 60_000 + 17
        }
        var cursor = Date(timeIntervalSince1970: -2_208_988_800)
        while let next = zone.nextDaylightSavingTimeTransition(after: cursor),
            next < Date(timeIntervalSince1970: 7_258_118_400)
        {
            let at = Int64((next.timeIntervalSince1970 * 1_000).rounded())
            probes += [at - 1, at, at + 1]
            cursor = next
        }
        for m in probes {
            let (day, from, to) = calendar.dayAndRange(ofUTCMillis: m)
            #expect(day == calendar.day(ofUTCMillis: m))
            #expect(from <= m && m < to, "\(identifier) at \(m): \(from) ..< \(to)")
            #expect(calendar.day(ofUTCMillis: from) == day && calendar.day(ofUTCMillis: to - 1) == day)
            #expect(calendar.offsetMillis(atUTCMillis: from) == calendar.offsetMillis(atUTCMillis: to - 1))
            // Inside the table a range ends where the day or the offset changes, or the
            // table does; outside it, a range is one instant.
            if m < -2_208_988_800_000 || m >= 7_258_118_400_000 {
                #expect(to == m + 1)
            } else if to < 7_258_118_400_000 {
                #expect(
                    calendar.day(ofUTCMillis: to) != day
                        || calendar.offsetMillis(atUTCMillis: to) != calendar.offsetMillis(atUTCMillis: to - 1))
            }
        }
    }

    /// At Int64's ends the day is still floor((millis + offset) / day), the sum taken
    /// without overflow (here in 128 bits), and the offset a real one; the range around
    /// `.max` is empty, as documented, and the one at `.min` holds it alone.
    @Test func extremesGiveTheDayOfTheirOffset() throws {
        let london = try LocalCalendar(identifier: "Europe/London")
        func floorDay(_ x: Int128) -> Int64 {
            let day: Int128 = 86_400_000
            var q = x / day
            if x % day != 0 && x < 0 { q -= 1 }
            return Int64(q)
        }
        for millis in [Int64.max, .max - 1, .min, .min + 1, 0, -1] {
            let offset = london.offsetMillis(atUTCMillis: millis)
            #expect(abs(offset) <= 18 * 3_600_000, "offset \(offset) at \(millis)")
            let expected = Int32(truncatingIfNeeded: floorDay(Int128(millis) + Int128(offset)))
            #expect(london.day(ofUTCMillis: millis) == expected, "at \(millis)")
            #expect(london.dayAndRange(ofUTCMillis: millis).day == expected, "at \(millis)")
        }
        let top = london.dayAndRange(ofUTCMillis: .max)
        #expect(top.from == .max && top.to == .max)
        let bottom = london.dayAndRange(ofUTCMillis: .min)
        #expect(bottom.from == .min && bottom.to == .min + 1)
        // British Standard Time (UTC+1 all year, 1968-1971): 1969's last UTC millisecond
        // is 00:59:59.999 on 1 January 1970 in London.
        #expect(london.day(ofUTCMillis: -1) == 0 && london.day(ofUTCMillis: -3_600_001) == -1)
    }

    /// One calendar read by eight threads at once gives, on every thread, the days it
    /// gives on one.
    @Test func copiesAreUsableConcurrently() throws {
        let london = try LocalCalendar(identifier: "Europe/London")
        let start = utc("2026-01-01T00:00:00Z")
        let hours = 24 * 365
        let expected = (0..<hours).map { london.day(ofUTCMillis: start + Int64($0) * 3_600_000) }
        #expect(Set(expected).count == 365)
        let mismatches = Locked([Int](repeating: -1, count: 8))
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            var wrong = 0
            for hour in 0..<hours {
                // A few milliseconds past the hour: the same local day.
                let t = start + Int64(hour) * 3_600_000 + Int64(worker)
                if london.day(ofUTCMillis: t) != expected[hour] { wrong += 1 }
            }
            mismatches.withLock { $0[worker] = wrong }
        }
        #expect(mismatches.withLock { $0 } == Array(repeating: 0, count: 8))
    }
}
