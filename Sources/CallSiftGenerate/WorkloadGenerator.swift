import CallSiftCore
import CallSiftInput
import HeapModule
// The driver: walks the days in time order, simulates each call as it arrives, and
// writes the events in (roughly) time order while memory stays bounded.
//
// How time order is kept without holding the whole workload:
// calls are simulated in arrival order, and every event of a call is at or after its
// arrival (a line's sort key is `ts` plus a non-negative jitter, and never below its
// call's arrival). So once the call arriving at `t` is simulated, every event with a key
// below `t` is final: nothing simulated later can sort before it. `flush(before:)` sorts
// the pending events and writes exactly those, keeping the tail (calls still in progress,
// delayed duplicates, late events) for the next flush.
//
// How `--calls` is met exactly: each (day, centre) has a quota. Follow-up calls (redials,
// chases, repeats) count against the quota of the day they land on; a follow-up landing
// later the same day cancels the next fresh arrival of its centre ("debt"), and debt
// left at the end of a day reduces the next day's fresh arrivals. The only slack is at
// the very end, where a final cap stops at `--calls`.

/// Writes the workload described by `options` to `sink`, then finishes the sink.
/// - Returns: counts of what was generated (calls, events, lines and each kind of dirt).
/// - Complexity: O(n log n) time in the number of events; memory proportional to one
///   day's arrivals plus the events of calls in progress.
@discardableResult
public func generateWorkload(_ options: GeneratorOptions, into sink: ByteSink) throws -> GeneratorSummary {
    try options.validate()
    let generator = WorkloadGenerator(options: options, sink: sink)
    return try generator.run()
}

/// The whole workload as bytes (for tests and small runs).
public func generateWorkloadBytes(_ options: GeneratorOptions) throws -> (bytes: [UInt8], summary: GeneratorSummary) {
    let sink = MemoryByteSink()
    let summary = try generateWorkload(options, into: sink)
    return (sink.bytes, summary)
}

final class WorkloadGenerator {
    private let options: GeneratorOptions
    private let model: WorkloadModel
    /// Draws everything about the traffic itself.
    private var rng: Xoshiro256StarStar
    /// Draws the dirt only, so `--dirty` adds dirt to the very same traffic.
    private var dirtRng: Xoshiro256StarStar
    private var encoder: EventEncoder
    private var summary = GeneratorSummary()

    /// Events simulated but not yet written.
    private var pending: [GeneratedEvent] = []
    private var flushAt = 1 << 16
    /// The events of the call being simulated.
    private var callEvents: [GeneratedEvent] = []
    private var followUps = Heap<FollowUp>()
    private var nextSeq: UInt64 = 0
    /// Exclusive end of the generated period, UTC ms; follow-ups after it never happen.
    private let horizonEnd: Int64

    /// Next call number per centre.
    private var nextCallNo: [UInt32]
    /// Per centre, one (call number, arrival) sample per hour of the last 64 hours: the
    /// numbers that may come round again (a PBX whose counter wrapped, a restarted system).
    private var reuseRing: [[(callNo: UInt32, arrive: Int64)]]
    private var reuseLastRecorded: [Int64]
    private var reuseCursor: [Int]

    init(options: GeneratorOptions, sink: ByteSink) {
        self.options = options
        model = WorkloadModel(options: options)
        rng = Xoshiro256StarStar(seed: options.seed, stream: 2)
        dirtRng = Xoshiro256StarStar(seed: options.seed, stream: 3)
        encoder = EventEncoder(model: model, format: options.format, dirty: options.dirty, sink: sink)
        horizonEnd = (options.startDay + Int64(options.days)) * CivilDate.millisPerDay
        var numbers: [UInt32] = []
        for _ in 0..<options.centres { numbers.append(UInt32(rng.int(1, 5000))) }
        nextCallNo = numbers
        reuseRing = Array(repeating: Array(repeating: (0, Int64.min), count: 64), count: options.centres)
        reuseLastRecorded = Array(repeating: Int64.min, count: options.centres)
        reuseCursor = Array(repeating: 0, count: options.centres)
        pending.reserveCapacity(flushAt * 2)
    }

    func run() throws -> GeneratorSummary {
        try encoder.writeHeader(summary: &summary)
        var debt = [Int](repeating: 0, count: options.centres)
        var carried = [Int](repeating: 0, count: options.centres)
        var fresh: [Int64] = []
        var produced = 0

        days: for d in 0..<options.days {
            let day = options.startDay + Int64(d)
            let dayStart = day * CivilDate.millisPerDay
            let dayEnd = dayStart + CivilDate.millisPerDay
            let weekend = WorkloadModel.isWeekend(day: day)

            // Follow-ups already booked for today count against today's quota.
            for c in carried.indices { carried[c] = 0 }
            for f in followUps.unordered where f.time < dayEnd { carried[Int(f.centre)] += 1 }

            // Fresh arrivals, as (time << 10 | centre) so one integer sort orders them by
            // time, then centre (centres < 1024; times < 2^52 for years before 9999).
            fresh.removeAll(keepingCapacity: true)
            for c in 0..<options.centres {
                var n = model.quotas[d * options.centres + c] - carried[c] - debt[c]
                if n < 0 {
                    debt[c] = -n
                    n = 0
                } else {
                    debt[c] = 0
                }
                for _ in 0..<n {
                    let t = dayStart + model.sampleTimeOfDay(weekend: weekend, rng: &rng)
                    fresh.append(t << 10 | Int64(c))
                }
            }
            fresh.sort()

            var i = 0
            while true {
                guard produced < options.calls else { break days }
                if let next = followUps.min, next.time < dayEnd, i == fresh.count || next.time <= fresh[i] >> 10 {
                    let f = followUps.popMin()!
                    try simulateCall(
                        at: f.time, centre: Int(f.centre), person: f.person, service: f.service,
                        caller: f.caller, followUp: f.kind, attempt: f.attempt,
                        dayEnd: dayEnd, debt: &debt)
                } else if i < fresh.count {
                    let t = fresh[i] >> 10
                    let c = Int(fresh[i] & 1023)
                    i += 1
                    if debt[c] > 0 {
                        debt[c] -= 1  // a same-day follow-up took this arrival's place
                        continue
                    }
                    let person = model.samplePerson(centre: c, rng: &rng)
                    let service = model.sampleService(centre: c, rng: &rng)
                    // About 8% of callers withhold their number; spellings vary by platform.
                    let caller: UInt8 = rng.chance(0.08) ? UInt8(1 + rng.index(5)) : 0
                    try simulateCall(
                        at: t, centre: c, person: person, service: service, caller: caller,
                        followUp: nil, attempt: 0, dayEnd: dayEnd, debt: &debt)
                } else {
                    break
                }
                produced += 1
            }
        }
        try flush(before: .max)
        try encoder.finish(summary: &summary)
        return summary
    }

    // MARK: Calls

    @inline(__always)
    private func takeSeq() -> UInt64 {
        nextSeq &+= 1
        return nextSeq
    }

    /// A call number for a call of centre `c` arriving at `t`: usually the next one, rarely
    /// one last used more than 8 hours (and under 64 hours) earlier.
    private func assignCallNo(centre c: Int, at t: Int64) -> UInt32 {
        if rng.chance(0.0008) {
            let start = rng.index(64)
            for k in 0..<64 {
                let slot = (start + k) & 63
                let entry = reuseRing[c][slot]
                if entry.arrive != .min && t - entry.arrive > 8 * 3_600_000 {
                    reuseRing[c][slot].arrive = .min  // never a third time
                    summary.reusedCallIds += 1
                    return entry.callNo
                }
            }
        }
        let number = nextCallNo[c]
        // Numbers are mostly consecutive; a platform occasionally skips a few.
        nextCallNo[c] &+= rng.chance(0.05) ? UInt32(2 + rng.index(3)) : 1
        if reuseLastRecorded[c] == .min || t - reuseLastRecorded[c] >= 3_600_000 {
            reuseRing[c][reuseCursor[c]] = (number, t)
            reuseCursor[c] = (reuseCursor[c] + 1) & 63
            reuseLastRecorded[c] = t
        }
        return number
    }

    /// Appends one event of the current call to `callEvents`, choosing its timestamp
    /// spelling, CSV/NDJSON style and clean-mode jitter.
    @inline(__always)
    private func addEvent(
        _ kind: GeneratedEventKind, at ts: Int64, arrival: Int64, callNo: UInt32,
        person: UInt32, centre c: Int, service: UInt8 = GeneratedEvent.noService,
        caller: UInt8 = 0, outcome: GeneratedOutcome = .none
    ) {
        let r = rng.unit()
        let form: TimestampForm =
            r < model.centreEpochShare[c]
            ? .epochMillis
            : r < model.centreEpochShare[c] + model.centreOffsetShare[c] ? .plusOneHour : .utcMillis
        var style: UInt8 = rng.chance(0.01) ? GeneratedEvent.styleQuoteAll : 0
        if options.dirty && options.format == .ndjson {
            if dirtRng.chance(0.4) { style |= GeneratedEvent.styleExplicitEmpty }
            if dirtRng.chance(0.05) { style |= GeneratedEvent.styleExtraKey }
        }
        // Small disorder: a few events are written up to 90 s after their place, as when
        // several telephony servers feed one log.
        let jitter = rng.chance(0.04) ? rng.int(0, 90_000) : 0
        callEvents.append(
            GeneratedEvent(
                key: max(ts, arrival) + jitter, ts: ts, seq: takeSeq(), callNo: callNo, person: person,
                centre: UInt16(c), kind: kind, service: service, outcome: outcome, reason: 0, caller: caller,
                form: form, style: style, dirt: .none, dirtVariant: 0))
    }

    private func simulateCall(
        at t: Int64, centre c: Int, person: UInt32, service: UInt8, caller: UInt8,
        followUp: FollowUp.Kind?, attempt: UInt8, dayEnd: Int64,
        debt: inout [Int]
    ) throws {
        callEvents.removeAll(keepingCapacity: true)
        let callNo = assignCallNo(centre: c, at: t)
        let profile = WorkloadModel.serviceCatalogue[Int(service)]
        let load = model.load(at: t)

        // Why they call. Follow-ups keep their purpose; most lines never record a reason.
        let r = rng.unit()
        var reason: UInt8 = 0
        let everyday = profile.reasons[rng.index(profile.reasons.count)]
        switch followUp {
        case nil: reason = r < 0.015 ? WorkloadModel.reasonClarification : r < 0.35 ? everyday : 0
        case .redial?: reason = r < 0.3 ? everyday : 0
        case .chase?: reason = r < 0.35 ? WorkloadModel.reasonProgressChase : r < 0.55 ? everyday : 0
        case .repeatAfterUnresolved?: reason = r < 0.2 ? WorkloadModel.reasonClarification : r < 0.5 ? everyday : 0
        case .repeatAfterResolved?: reason = r < 0.4 ? WorkloadModel.reasonClarification : r < 0.6 ? everyday : 0
        }

        addEvent(
            .arrive, at: t, arrival: t, callNo: callNo, person: person, centre: c,
            service: service, caller: caller)
        var terminalIndex = 0
        var failed = false
        var blocked = false
        var outcome = GeneratedOutcome.none

        if rng.chance(0.006 + 0.05 * load * load) {
            // Queue full: the platform refuses the call within a second.
            let second = t - t % 1000
            let when = rng.chance(0.6) ? max(t, second + rng.int(0, 1000)) : second + 1000 + rng.int(0, 1000)
            addEvent(.blocked, at: when, arrival: t, callNo: callNo, person: person, centre: c)
            failed = true
            blocked = true
            terminalIndex = callEvents.count - 1
        } else {
            let meanWait = model.centreWaitFactor[c] * (5 + 90 * load * load)
            let wait = rng.chance(0.25) ? rng.uniform(0.2, 4) : min(2400, rng.exponential(mean: meanWait))
            // One caller in twenty-five hangs up within five seconds whatever happens.
            let patience = rng.chance(0.04) ? rng.uniform(0.3, 4.9) : 4 + rng.exponential(mean: 300)
            if patience < wait {
                addEvent(
                    .abandon, at: t + Int64(patience * 1000), arrival: t, callNo: callNo,
                    person: person, centre: c)
                failed = true
                terminalIndex = callEvents.count - 1
            } else {
                let answer = t + Int64(wait * 1000)
                addEvent(.answer, at: answer, arrival: t, callNo: callNo, person: person, centre: c)
                let mean = profile.meanHandleSeconds
                var handle = min(10_800, max(20, rng.exponential(mean: mean / 2) + rng.exponential(mean: mean / 2)))
                var reasonOnTransfer: UInt8 = 0
                var lastTransfer = answer
                if rng.chance(0.11) {
                    let transfers = rng.chance(0.1) ? 2 : 1
                    var at = answer
                    var current = service
                    for _ in 0..<transfers {
                        at += Int64(handle * rng.uniform(0.15, 0.6) * 1000)
                        // Most transfers fix a caller who reached the wrong line; the rest
                        // pass the caller to a specialist team on the same line.
                        let misdirected = rng.chance(0.55)
                        let destination =
                            misdirected
                            ? model.otherService(than: current, centre: c, rng: &rng) : current
                        addEvent(
                            .transfer, at: at, arrival: t, callNo: callNo, person: person, centre: c,
                            service: destination)
                        if misdirected && rng.chance(0.3) {
                            reasonOnTransfer = WorkloadModel.reasonMisdirected
                            callEvents[callEvents.count - 1].reason = reasonOnTransfer
                        }
                        current = destination
                        lastTransfer = at
                        handle += 30 + rng.exponential(mean: 180)
                    }
                }
                let o = rng.unit()
                let resolvedShare = followUp == .chase ? 0.80 : 0.72
                let pendingShare = followUp == .chase ? 0.12 : 0.17
                if o < resolvedShare {
                    outcome = rng.chance(0.5) ? .resolved : .resolvedImplicit
                } else if o < resolvedShare + pendingShare {
                    outcome = .pending
                } else {
                    outcome = .unresolved
                }
                // A call ends after its last transfer, however the handle time was drawn.
                addEvent(
                    .end, at: max(answer + Int64(handle * 1000), lastTransfer + 1000), arrival: t, callNo: callNo, person: person,
                    centre: c, outcome: outcome)
                terminalIndex = callEvents.count - 1
                // The agent records the reason at wrap-up, unless the transfer already said it.
                if reasonOnTransfer != 0 { reason = 0 }
            }
        }
        if reason != 0 {
            // IVR menus record a reason on arrival; agents at wrap-up; failed calls only
            // ever have the IVR's.
            if failed || rng.chance(0.3) { callEvents[0].reason = reason } else { callEvents[terminalIndex].reason = reason }
        }

        let endTs = callEvents[terminalIndex].ts
        if CivilDate.split(millis: endTs).day != CivilDate.split(millis: t).day { summary.midnightCrossings += 1 }
        summary.calls += 1
        summary.events += callEvents.count

        // What this call sets in motion.
        var next: FollowUp? = nil
        if failed {
            let p = (blocked ? 0.7 : 0.55) * pow075(Int(attempt))
            if rng.chance(p) {
                let x = rng.unit()
                let delay =
                    x < 0.65
                    ? rng.int(20_000, 600_000)
                    : x < 0.93 ? rng.int(600_000, 3_600_000) : rng.int(3_600_000, 14_400_000)
                next = FollowUp(
                    time: endTs + delay, seq: 0, person: person, centre: UInt16(c), service: service,
                    caller: caller, kind: .redial, attempt: attempt &+ 1)
            }
        } else {
            switch outcome {
            case .pending where rng.chance(0.55):
                next = laterDay(
                    from: t, daysAhead: 2 + rng.int(0, 20), person: person, centre: c,
                    service: service, caller: caller, kind: .chase)
            case .unresolved where rng.chance(0.45):
                if rng.chance(0.4) {
                    next = FollowUp(
                        time: endTs + rng.int(900_000, 21_600_000), seq: 0, person: person,
                        centre: UInt16(c), service: service, caller: caller,
                        kind: .repeatAfterUnresolved, attempt: 0)
                } else {
                    next = laterDay(
                        from: t, daysAhead: rng.int(1, 6), person: person, centre: c,
                        service: service, caller: caller, kind: .repeatAfterUnresolved)
                }
            case .resolved, .resolvedImplicit:
                if rng.chance(0.04) {
                    next = laterDay(
                        from: t, daysAhead: rng.int(1, 8), person: person, centre: c,
                        service: service, caller: caller, kind: .repeatAfterResolved)
                }
            default:
                break
            }
        }
        if var f = next, f.time < horizonEnd {
            f.seq = takeSeq()
            followUps.insert(f)
            if f.time < dayEnd { debt[c] += 1 }
        }

        if options.dirty { dirtyCall(arrival: t) }
        if options.dirty {
            for e in callEvents { addDirtyLine(e) }
        } else {
            pending.append(contentsOf: callEvents)
        }
        if pending.count >= flushAt { try flush(before: t) }
    }

    /// 0.75^n, by multiplication (no libm).
    private func pow075(_ n: Int) -> Double {
        var p = 1.0
        for _ in 0..<min(n, 40) { p *= 0.75 }
        return p
    }

    /// A follow-up on a later day, at a time of day drawn from that day's profile.
    private func laterDay(
        from t: Int64, daysAhead: Int64, person: UInt32, centre c: Int, service: UInt8,
        caller: UInt8, kind: FollowUp.Kind
    ) -> FollowUp {
        let day = CivilDate.split(millis: t).day + daysAhead
        let time =
            day * CivilDate.millisPerDay
            + model.sampleTimeOfDay(weekend: WorkloadModel.isWeekend(day: day), rng: &rng)
        return FollowUp(
            time: time, seq: 0, person: person, centre: UInt16(c), service: service,
            caller: caller, kind: kind, attempt: 0)
    }

    // MARK: Dirt

    /// Makes about 0.8% of calls incomplete and 0.8% conflicting (docs/metrics.md,
    /// "Calls").
    private func dirtyCall(arrival t: Int64) {
        let r = dirtRng.unit()
        if r < 0.008 {
            if dirtRng.chance(0.5) {
                callEvents.removeFirst()  // no arrive
            } else {
                callEvents.removeLast()  // no terminal event
            }
            summary.incompleteCalls += 1
        } else if r < 0.016 {
            guard let answerIndex = callEvents.firstIndex(where: { $0.kind == .answer }) else {
                // Failed call: a second terminal event, or a terminal before the arrival.
                var last = callEvents[callEvents.count - 1]
                if dirtRng.chance(0.5) {
                    last.kind = .end
                    last.ts += dirtRng.int(1000, 60_000)
                    last.key = last.ts
                    last.seq = takeSeq()
                    callEvents.append(last)
                } else {
                    callEvents[callEvents.count - 1].ts = t - dirtRng.int(1000, 30_000)
                }
                summary.conflictingCalls += 1
                return
            }
            switch dirtRng.index(3) {
            case 0:  // two answers
                var again = callEvents[answerIndex]
                again.ts += dirtRng.int(1000, 30_000)
                again.key = max(again.key, again.ts)
                again.seq = takeSeq()
                callEvents.insert(again, at: answerIndex + 1)
            case 1:  // end without answer
                callEvents.remove(at: answerIndex)
            default:  // times going backwards: answered before it arrived, or ended before answered
                if dirtRng.chance(0.5) {
                    callEvents[answerIndex].ts = t - dirtRng.int(1000, 60_000)
                } else {
                    let answer = callEvents[answerIndex].ts
                    callEvents[callEvents.count - 1].ts = answer - dirtRng.int(1000, 60_000)
                }
            }
            summary.conflictingCalls += 1
        }
    }

    /// Queues one event in dirty mode, perhaps duplicated, late, malformed, or with a
    /// garbage or blank line beside it. At most one kind of dirt per event.
    private func addDirtyLine(_ event: GeneratedEvent) {
        var e = event
        let r = dirtRng.unit()
        switch r {
        case ..<0.012:
            pending.append(e)
            var copy = e
            copy.seq = takeSeq()
            // At-least-once delivery: usually straight after, sometimes minutes later (but
            // well inside the 10-minute lateness bound).
            if dirtRng.chance(0.4) { copy.key += dirtRng.int(10_000, 420_000) }
            pending.append(copy)
            summary.duplicateLines += 1
            return
        case ..<0.017:
            e.key = e.ts + dirtRng.int(900_000, 2_700_000)
            summary.lateEvents += 1
        case ..<0.0215:
            e.dirt = .badTimestamp
            summary.badTimestampLines += 1
        case ..<0.026:
            e.dirt = .unknownEvent
            summary.unknownEventLines += 1
        case ..<0.0305:
            e.dirt = .missingField
            summary.missingFieldLines += 1
        case ..<0.0335:
            e.dirt = .brokenSyntax
            e.style = 0
            summary.brokenSyntaxLines += 1
        case ..<0.0365:
            var noise = e
            noise.dirt = .garbage
            noise.seq = takeSeq()
            noise.dirtVariant = UInt8(truncatingIfNeeded: dirtRng.next())
            pending.append(noise)
            summary.garbageLines += 1
        case ..<0.0415:
            var blank = e
            blank.dirt = .blank
            blank.seq = takeSeq()
            pending.append(blank)
            summary.blankLines += 1
        default:
            break
        }
        if e.dirt != .none { e.dirtVariant = UInt8(truncatingIfNeeded: dirtRng.next()) }
        pending.append(e)
    }

    // MARK: Output

    /// Writes, in order, every pending line whose key is below `bound`.
    private func flush(before bound: Int64) throws {
        guard !pending.isEmpty else { return }
        pending.sort(by: GeneratedEvent.precedes)
        var split = pending.count
        if bound != .max {
            // First index with key >= bound (binary search over the sorted keys).
            var lo = 0
            var hi = pending.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if pending[mid].key < bound { lo = mid + 1 } else { hi = mid }
            }
            split = lo
        }
        for i in 0..<split { try encoder.write(pending[i], summary: &summary) }
        pending.removeSubrange(0..<split)
        // Keep at least twice what stays behind, so flushes stay amortised O(1) per event.
        flushAt = max(1 << 16, pending.count * 2)
    }
}
