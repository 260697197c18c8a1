import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Call assembly and validity (docs/metrics.md, "Calls" and "Accounting").
@Suite struct CallAssemblerTests {
    typealias S = Scenario

    /// Events and contacts move in bulk between threads; their field order packs them
    /// (see `Event` and `Contact`), and a new field in the wrong place would undo it.
    @Test func eventsAndContactsStayPacked() {
        #expect(MemoryLayout<Event>.stride == 80)
        #expect(MemoryLayout<Contact>.stride == 104)
    }

    @Test func incompleteAndConflictingCalls() throws {
        var s = S()
        s.event(0, "ok", "arrive", caller: "A", service: "S1"); s.event(1000, "ok", "abandon")
        s.event(0, "noterm", "arrive", caller: "B", service: "S1")  // incomplete
        s.event(0, "noarr", "answer"); s.event(500, "noarr", "end")  // incomplete
        s.event(0, "twoans", "arrive", caller: "C", service: "S1")
        s.event(1000, "twoans", "answer"); s.event(2000, "twoans", "answer"); s.event(3000, "twoans", "end")  // conflicting
        s.event(0, "endnoans", "arrive", caller: "D", service: "S1"); s.event(1000, "endnoans", "end")  // conflicting
        s.event(0, "abandans", "arrive", caller: "E", service: "S1"); s.event(1000, "abandans", "answer")
        s.event(2000, "abandans", "abandon")  // conflicting
        s.event(5000, "back", "arrive", caller: "F", service: "S1"); s.event(1000, "back", "answer")
        s.event(9000, "back", "end")  // backwards
        s.event(0, "twoterm", "arrive", caller: "G", service: "S1"); s.event(1000, "twoterm", "abandon")
        s.event(2000, "twoterm", "blocked")  // conflicting
        s.event(0, "xfer", "arrive", caller: "H", service: "S1"); s.event(1000, "xfer", "answer")
        s.event(2000, "xfer", "end"); s.event(3000, "xfer", "transfer", service: "S2")  // transfer after end
        s.event(0, "confinc", "answer"); s.event(100, "confinc", "answer")  // conflicting wins
        let r = try s.run()
        #expect(r.calls.contacts == 1)
        #expect(r.calls.incomplete == 2)
        #expect(r.calls.conflicting == 7)
        #expect(r.total().contacts == 1)
        #expect(r.accountingHolds)
    }

    @Test func callTimeoutSplitsReusedIds() throws {
        var s = S()
        // Within 6 h of the earliest event: one call.
        s.event(0, "r", "arrive", caller: "A", service: "S1")
        s.event(S.minute, "r", "answer")
        s.event(6 * S.hour, "r", "end")
        // The id reused a day later: another call.
        s.event(S.day, "r", "arrive", caller: "A", service: "S1")
        s.event(S.day + S.minute, "r", "abandon")
        // A terminal event 1 ms past the timeout is not part of the call: two incomplete calls.
        s.event(2 * S.day, "late", "arrive", caller: "B", service: "S1")
        s.event(2 * S.day + 6 * S.hour + 1, "late", "abandon")
        let r = try s.run()
        #expect(r.calls.contacts == 2)
        #expect(r.calls.incomplete == 2)
        #expect(r.total().repeats == 1)
    }

    @Test func duplicatesAreCountedOnce() throws {
        var s = S()
        s.handled("a", caller: "A", at: 0)
        s.event(0, "a", "arrive", caller: "A", service: "S1")  // exact duplicate
        s.event(10_000, "a", "answer", caller: "X")  // equal in (centre, call, event, ts)
        let r = try s.run()
        #expect(r.calls.duplicates == 2)
        #expect(r.calls.events == 3)
        #expect(r.calls.contacts == 1)
        #expect(r.accountingHolds)
    }
}
