import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Hand-worked cases for every definition of docs/metrics.md, "Calls" (contact fields) and
/// "Classes and FCR". Each scenario uses its own callers so the expected counts can be
/// checked by eye.
@Suite struct ClassifierTests {
    typealias S = Scenario
    static let W = 7 * S.day, C = 28 * S.day, R = S.hour

    @Test func repeatAtExactlyTheWindowAndOneMillisecondPast() throws {
        var s = S()
        s.handled("a1", caller: "0700A", at: 0)
        s.handled("a2", caller: "0700A", at: Self.W)  // 0 ≤ Δ ≤ W: repeat
        s.handled("b1", caller: "0700B", at: 0)
        s.handled("b2", caller: "0700B", at: Self.W + 1)  // Δ = W + 1 ms: not
        let c = try s.run().total()
        #expect(c.contacts == 4)
        #expect(c.repeats == 1)
        #expect(c.avoidable == 1)
    }

    @Test func retryAfterFailedContactWithinR() throws {
        var s = S()
        s.abandoned("a1", caller: "A", at: 0)
        s.handled("a2", caller: "A", at: Self.R)  // retry (prior failed within R)
        s.blocked("b1", caller: "B", at: 0)
        s.handled("b2", caller: "B", at: Self.R + 1)  // Δ > R: not a retry
        let c = try s.run().total()
        #expect(c.retry == 1)
        #expect(c.blocked == 1)
        #expect(c.abandoned == 1)
        #expect(c.avoidable == 1)
    }

    @Test func retryMeasuresFromTheArriveTimes() throws {
        // The window runs between arrive times (t), not from the end of the failed call.
        var s = S()
        s.abandoned("a1", caller: "A", at: 0, wait: 10 * S.minute)
        s.handled("a2", caller: "A", at: Self.R + 1)
        let c = try s.run().total()
        #expect(c.retry == 0)
    }

    @Test func pendingThenChaseWithinC() throws {
        var s = S()
        s.handled("a1", caller: "A", at: 0, outcome: "pending")
        s.handled("a2", caller: "A", at: Self.C)  // chase (Δ = C), not a repeat (Δ > W)
        s.handled("b1", caller: "B", at: 0, outcome: "pending")
        s.handled("b2", caller: "B", at: Self.C + 1)  // too late for a chase
        let c = try s.run().total()
        #expect(c.progressChase == 1)
        #expect(c.repeats == 0)
        #expect(c.avoidable == 1)
    }

    @Test func chaseTakesPrecedenceOverRepeat() throws {
        var s = S()
        s.handled("a1", caller: "A", at: 0, outcome: "pending")
        s.handled("a2", caller: "A", at: S.day)  // chase and repeat: counted once, as chase
        let c = try s.run().total()
        #expect(c.progressChase == 1)
        #expect(c.repeats == 0)
        #expect(c.avoidable == 1)
    }

    @Test func repeatTakesPrecedenceOverRetryAndMisdirected() throws {
        var s = S()
        s.handled("a1", caller: "A", at: 0)
        s.abandoned("a2", caller: "A", at: S.minute * 10)  // repeat (prior handled)
        s.handled("a3", caller: "A", at: S.minute * 20, transferTo: "S2")  // repeat, though also retry and misdirected
        let c = try s.run().total()
        #expect(c.repeats == 2)
        #expect(c.retry == 0)
        #expect(c.misdirected == 0)
        #expect(c.avoidable == 2)
    }

    @Test func progressChaseReasonAppliesToUnidentifiedCallers() throws {
        var s = S()
        s.handled("a1", caller: "withheld", at: 0, reason: "progress_chase")
        s.handled("a2", caller: "", at: S.hour, reason: "clarification")
        s.handled("a3", caller: "Anonymous", at: 2 * S.hour, reason: "misdirected")
        s.handled("a4", caller: "PRIVATE", at: 3 * S.hour, reason: "new_claim")
        let c = try s.run().total()
        #expect(c.contacts == 4)
        #expect(c.identified == 0)
        #expect(c.progressChase == 1)
        #expect(c.clarification == 1)
        #expect(c.misdirected == 1)
        #expect(c.avoidable == 3)
        #expect(c.fcrEligible == 0)
    }

    @Test func unidentifiedCallersAreNeverRepeats() throws {
        var s = S()
        for (i, name) in ["withheld", "unknown", "unavailable", "anonymous", "private", ""].enumerated() {
            s.handled("u\(i)", caller: name, at: Int64(i) * S.minute)
            s.handled("v\(i)", caller: name, at: Int64(i) * S.minute + S.hour)
        }
        s.horizon(30 * S.day)
        let c = try s.run().total()
        #expect(c.contacts == 12)
        #expect(c.identified == 0)
        #expect(c.repeats == 0)
        #expect(c.fcrEligible == 0)
        #expect(c.fcrPending == 0)
    }

    @Test func misdirectedByTransferToAnotherService() throws {
        var s = S()
        s.handled("a1", caller: "A", at: 0, transferTo: "S2")  // misdirected
        s.handled("b1", caller: "B", at: 0, transferTo: "S1")  // transfer within the service
        s.handled("c1", caller: "C", at: 0, reason: "misdirected")  // by reason
        let c = try s.run().total()
        #expect(c.transferred == 2)
        #expect(c.misdirected == 2)
    }

    @Test func lastNonEmptyReasonOfTheCallCounts() throws {
        var s = S()
        s.event(0, "a1", "arrive", caller: "A", service: "S1", reason: "clarification")
        s.event(1000, "a1", "answer")
        s.event(5000, "a1", "end", reason: "payment")  // last reason: payment → not clarification
        s.event(0, "b1", "arrive", caller: "B", service: "S1", reason: "payment")
        s.event(1000, "b1", "answer", reason: "clarification")
        s.event(5000, "b1", "end")  // empty: clarification stays
        s.event(0, "c1", "arrive", caller: "C", service: "S1")
        s.event(1000, "c1", "answer", reason: "payment")
        s.event(1000, "c1", "transfer", service: "S1", reason: "clarification")  // same ts: transfer after answer
        s.event(5000, "c1", "end")
        let c = try s.run().total()
        #expect(c.clarification == 2)
    }

    @Test func tiesInTimeOrderByCallThenCentre() throws {
        var s = S()
        // Same caller, same t: "k1" is prior to "k2" (byte order of call ids).
        s.handled("k2", caller: "A", at: S.hour, wait: 5000)
        s.handled("k1", caller: "A", at: S.hour, wait: 8000)
        s.horizon(30 * S.day)
        let c = try s.run().total()
        #expect(c.repeats == 1)  // k2 repeats k1 (Δ = 0)
        #expect(c.fcrEligible == 2)
        #expect(c.fcr == 1)  // k1 has a later contact (k2, Δ = 0); k2 has none
    }

    @Test func tiesAcrossCentresUnderGlobalScope() throws {
        var s = S()
        s.handled("x", caller: "A", at: 0, centre: "C2")
        s.handled("x", caller: "A", at: 0, centre: "C1")  // same t and call: C1 is prior to C2
        s.horizon(30 * S.day)
        let r = try s.run { $0.scope = .global }
        #expect(r.total(centre: "C1").repeats == 0)
        #expect(r.total(centre: "C2").repeats == 1)
        #expect(r.total(centre: "C1").fcr == 0)
        #expect(r.total(centre: "C2").fcr == 1)
    }

    @Test func scopes() throws {
        var s = S()
        s.handled("a1", caller: "A", at: 0, centre: "C1", service: "S1")
        s.handled("a2", caller: "A", at: S.hour, centre: "C1", service: "S2")  // same centre, other service
        s.handled("a3", caller: "A", at: 2 * S.hour, centre: "C2", service: "S1")  // other centre
        let centre = try s.run { $0.scope = .centre }
        #expect(centre.total(centre: nil).repeats == 1)  // a2
        let service = try s.run { $0.scope = .service }
        #expect(service.total(centre: nil).repeats == 0)
        let global = try s.run { $0.scope = .global }
        #expect(global.total(centre: nil).repeats == 2)  // a2 and a3
    }

    @Test func fcrMaturityAtTheHorizon() throws {
        var s = S()
        s.handled("a1", caller: "A", at: 0)
        s.horizon(Self.W)  // t + W ≤ horizon: mature
        var r = try s.run().total()
        #expect(r.fcrEligible == 1)
        #expect(r.fcr == 1)
        #expect(r.fcrPending == 0)

        var p = S()
        p.handled("a1", caller: "A", at: 0)
        p.horizon(Self.W - 1)  // 1 ms short: still pending
        r = try p.run().total()
        #expect(r.fcrEligible == 0)
        #expect(r.fcr == 0)
        #expect(r.fcrPending == 1)
    }

    @Test func fcrLaterContactAtTheWindowEdge() throws {
        var s = S()
        s.handled("a1", caller: "A", at: 0)
        s.abandoned("a2", caller: "A", at: Self.W)  // later, failed, Δ = W: a1 not resolved
        s.handled("b1", caller: "B", at: 0)
        s.blocked("b2", caller: "B", at: Self.W + 1)  // Δ = W + 1: b1 resolved
        s.horizon(40 * S.day)
        let c = try s.run().total()
        #expect(c.fcrEligible == 2)  // a2 and b2 are failed, not handled
        #expect(c.fcr == 1)
    }

    @Test func fcrUnresolvedOutcomeIsNeverResolved() throws {
        var s = S()
        s.handled("a1", caller: "A", at: 0, outcome: "unresolved")
        s.handled("b1", caller: "B", at: 0, outcome: "pending")  // pending counts as resolved first time
        s.horizon(30 * S.day)
        let c = try s.run().total()
        #expect(c.fcrEligible == 2)
        #expect(c.fcr == 1)
    }

    @Test func fcrLaterContactOnlyInScope() throws {
        var s = S()
        s.handled("a1", caller: "A", at: 0, centre: "C1")
        s.handled("a2", caller: "A", at: S.day, centre: "C2")
        s.horizon(30 * S.day)
        let centre = try s.run()
        #expect(centre.total(centre: "C1").fcr == 1)
        let global = try s.run { $0.scope = .global }
        #expect(global.total(centre: "C1").fcr == 0)
    }

    @Test func waitsServiceLevelAndShortAbandons() throws {
        var s = S()
        s.handled("a1", caller: "A", at: 0, wait: 20_000, handle: 100_000)  // in SL (wait = T)
        s.handled("b1", caller: "B", at: 0, wait: 20_001, handle: 200_000)  // not in SL
        s.abandoned("c1", caller: "C", at: 0, wait: 4_999)  // short
        s.abandoned("d1", caller: "D", at: 0, wait: 5_000)  // not short
        s.blocked("e1", caller: "E", at: 0)
        let r = try s.run()
        let c = r.total()
        #expect(c.handled == 2)
        #expect(c.answeredInSL == 1)
        #expect(c.waitMsSum == 40_001)
        #expect(c.handleMsSum == 300_000)
        #expect(c.abandoned == 2)
        #expect(c.shortAbandoned == 1)
        #expect(c.blocked == 1)
        let rates = Dictionary(uniqueKeysWithValues: c.rates.map { ($0.name, ($0.x, $0.n)) })
        #expect(rates["abandon_rate"]! == (1, 3))  // (abandoned − short) / (handled + abandoned − short)
        #expect(rates["service_level"]! == (1, 3))
        #expect(c.asaSeconds == 20.0005)
        #expect(c.ahtSeconds == 150)
    }
}

/// State follows live callers: a caller scope leaves once no future contact can need it,
/// that is once it is older than every window of docs/metrics.md, "Classes and FCR"
/// (docs/architecture.md, "State and memory").
@Suite struct ScopeEvictionTests {
    @Test func scopesOfQuietCallersAreForgotten() throws {
        typealias S = Scenario
        var s = S()
        // 60 days, a new caller every 5 minutes, each calling once: with W = 7 d (and no
        // pending outcomes) at most about ten days of callers are ever remembered.
        let perDay = 288
        for i in 0..<60 * perDay { s.handled("c\(i)", caller: "N\(i)", at: Int64(i) * 5 * S.minute) }
        let dir = try TempDir()
        let path = dir.path("in.csv")
        try Data(s.csv.utf8).write(to: URL(fileURLWithPath: path))
        let analysis = try Analysis(settings: AnalysisSettings(), inputs: [path], pseudonymiser: Pseudonymiser(k0: 1, k1: 2))
        let outcome = try analysis.run()
        #expect(outcome.report.calls.contacts == 60 * perDay)
        #expect(outcome.stats.peakScopes > 0)
        // W + up to three days between sweeps (`Classifier.defaultSweepInterval`) + the call
        // timeout: under eleven days (without eviction, 50+).
        #expect(outcome.stats.peakScopes <= 11 * perDay, "peak \(outcome.stats.peakScopes)")
    }
}
