import CallSiftCore

/// What one part would add to a report if its input ended where it stands
/// (docs/architecture.md, "Durable state"): every call in progress cut, every contact
/// classified, but the FCR verdicts that the end leaves queued kept apart, since their
/// maturity is judged against the horizon of the whole state, which other parts move on.
///
/// A run makes one for each part it holds (`Part.summary`), writes it after the part in
/// the engine file, and reports from it. A part that the next run's inputs do not name is
/// then left as it lies: its bytes are copied into the next engine file, and its share of
/// the report is read from its summary (`settle`), never rebuilt.
struct PartSummary {
    /// The calls of the part, all cut.
    var calls = CallAssembler.Accounting()
    /// The part's base groups and their counters, the queued FCR verdicts not counted.
    var keys: [Aggregator.GroupKey] = []
    var counters: [Counters] = []
    /// The FCR verdicts still queued at the end: the contact's time, its base group (an
    /// index into `keys`) and whether it was resolved first time (not unresolved, and no
    /// later contact in scope within W).
    var verdicts: [Verdict] = []
    /// The greatest `ts` of the part's events: its final point follows from it.
    var horizon: Int64 { calls.horizon }
    /// Caller scopes and calls in progress the part holds, for `--stats`.
    var scopes = 0
    var liveCalls = 0

    struct Verdict {
        var t: Int64
        var group: Int32
        var resolved: Bool
    }

    /// With `verdictsLater`, the verdicts as they lie, not decoded: `settle` reads them one
    /// by one into the counters, so that a run reporting from the summaries of parts it
    /// leaves as they lie holds none of them in memory.
    private var unread: StateReader?

    /// The verdicts' times by group, resolved ones and the others apart, sorted
    /// (`indexed()`): `settle` then counts the mature ones of a group by two binary searches
    /// rather than a pass over every verdict.
    private var times: [(resolved: [Int64], other: [Int64])]?

    /// This summary with its verdicts indexed by group, for one that is settled again and
    /// again against a moving horizon (a dormant part in a live report).
    func indexed() -> PartSummary {
        precondition(unread == nil, "indexed() of a summary whose verdicts were not read")
        var s = self
        var times = [(resolved: [Int64], other: [Int64])](repeating: ([], []), count: keys.count)
        for v in verdicts {
            if v.resolved { times[Int(v.group)].resolved.append(v.t) } else { times[Int(v.group)].other.append(v.t) }
        }
        for g in times.indices {
            times[g].resolved.sort()
            times[g].other.sort()
        }
        s.times = times
        s.verdicts = []
        return s
    }

    /// Adds the part's counters to `totals`, its queued verdicts judged mature against
    /// `horizon` (`t + repeatWindow ≤ horizon`) as `Classifier.finish` judges them.
    /// With verdicts left unread (`verdictsLater`), reading them throws when they are
    /// malformed.
    func settle(horizon: Int64, repeatWindow: Int64, into totals: inout [Aggregator.GroupKey: Counters]) throws {
        guard var r = unread else { return settleRead(horizon: horizon, repeatWindow: repeatWindow, into: &totals) }
        var counters = self.counters
        try Self.readVerdicts(from: &r, groups: counters.count) { t, g, resolved in
            counters[Int(g)].countFCR(mature: t &+ repeatWindow <= horizon, resolved: resolved)
        }
        guard r.isAtEnd else { throw r.malformed("a part summary longer than its records") }
        for (key, c) in zip(keys, counters) { totals[key, default: .zero].merge(c) }
    }

    /// `settle` for a summary whose verdicts were read.
    func settleRead(horizon: Int64, repeatWindow: Int64, into totals: inout [Aggregator.GroupKey: Counters]) {
        precondition(unread == nil, "settleRead of a summary whose verdicts were not read")
        var counters = self.counters
        if let times {
            // Mature: t ≤ horizon − W, a prefix of each sorted list (none if that underflows).
            let (limit, underflow) = horizon.subtractingReportingOverflow(repeatWindow)
            func mature(_ ts: [Int64]) -> Int64 {
                if underflow { return 0 }
                var lo = 0, hi = ts.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if ts[mid] <= limit { lo = mid + 1 } else { hi = mid }
                }
                return Int64(lo)
            }
            for g in times.indices {
                let resolved = mature(times[g].resolved), other = mature(times[g].other)
                counters[g].fcrEligible += resolved + other
                counters[g].fcr += resolved
                counters[g].fcrPending += Int64(times[g].resolved.count + times[g].other.count) - resolved - other
            }
        } else {
            for v in verdicts {
                counters[Int(v.group)].countFCR(mature: v.t &+ repeatWindow <= horizon, resolved: v.resolved)
            }
        }
        for (key, c) in zip(keys, counters) { totals[key, default: .zero].merge(c) }
    }

    // MARK: Encoding (docs/architecture.md, "Files")

    /// Writes a summary from its parts as they lie in a finished part (`Part.finish`), the
    /// verdicts handed over by `verdicts` (`count` of them), so that none is gathered first.
    static func encode(
        calls: CallAssembler.Accounting, scopes: Int, liveCalls: Int, keys: [Aggregator.GroupKey], counters: [Counters],
        verdicts count: Int, _ verdicts: ((Int64, Int32, Bool) -> Void) -> Void, into w: inout StateWriter
    ) {
        w.int(calls.events); w.int(calls.duplicates); w.int(calls.contacts)
        w.int(calls.incomplete); w.int(calls.conflicting); w.int(calls.horizon)
        w.varint(UInt64(scopes))
        w.varint(UInt64(liveCalls))
        w.count(keys.count)
        for (k, c) in zip(keys, counters) {
            w.int(k.centre); w.int(k.service); w.int(k.day)
            StateCodec.encode(c, into: &w)
        }
        w.count(count)
        var previous: Int64 = 0
        verdicts { t, group, resolved in
            w.int(t &- previous)
            previous = t
            w.varint(UInt64(group) << 1 | (resolved ? 1 : 0))
        }
    }

    /// Reads a summary; with `verdictsLater`, all but its verdicts, which `settle` reads
    /// (`r` is then left where they start).
    init(from r: inout StateReader, verdictsLater: Bool = false) throws {
        calls.events = try r.tally(); calls.duplicates = try r.tally(); calls.contacts = try r.tally()
        calls.incomplete = try r.tally(); calls.conflicting = try r.tally(); calls.horizon = try r.int()
        scopes = Int(truncatingIfNeeded: try r.varint())
        liveCalls = Int(truncatingIfNeeded: try r.varint())
        let n = try r.count(minBytes: 3 + Counters.fields.count)
        keys.reserveCapacity(n)
        counters.reserveCapacity(n)
        for _ in 0..<n {
            keys.append(Aggregator.GroupKey(centre: try r.nameID(.centre), service: try r.nameID(.service), day: try r.int32()))
            counters.append(try StateCodec.decodeCounters(from: &r))
        }
        if verdictsLater {
            unread = r
            return
        }
        try Self.readVerdicts(from: &r, groups: n) { t, g, resolved in verdicts.append(Verdict(t: t, group: g, resolved: resolved)) }
    }

    /// Reads the verdicts `encode` wrote, each checked to name one of `groups` groups.
    private static func readVerdicts(
        from r: inout StateReader, groups: Int, _ body: (Int64, Int32, Bool) -> Void
    ) throws {
        let m = try r.count(minBytes: 2)
        var previous: Int64 = 0
        for _ in 0..<m {
            let t = previous &+ (try r.int())
            previous = t
            let g = try r.varint()
            guard g >> 1 < UInt64(groups) else { throw r.malformed("an FCR verdict of group \(g >> 1) of \(groups)") }
            body(t, Int32(g >> 1), g & 1 == 1)
        }
    }
}
