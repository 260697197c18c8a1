import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSiftConcurrency

/// Classifies contacts against the prior and later contacts of the same caller scope
/// (docs/metrics.md, "Classes and FCR") and hands the results to the aggregator.
///
/// Contacts reach it in any order. It holds them until the watermark passes `t` + call
/// timeout, when every contact at or before `t` is known, and then takes them, sorted a
/// batch at a time, in the specified order (t, call, centre). Because every window test is
/// `0 ≤ c.t − p.t ≤ window` against *prior* contacts, a scope needs only the time of
/// its latest handled, handled-pending and failed contact, not a history.
///
/// First-contact resolution looks forward instead: a handled identified contact is
/// resolved first time when no later contact in scope falls within W. Only the next
/// contact in scope can be the nearest, so each contact marks its predecessor. Verdicts
/// wait in a queue in `t` order until no contact within W of them can still come, and
/// maturity (t + W ≤ horizon) is judged then, or at the end against the final horizon.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
package final class Classifier {
    struct ScopeKey: ShardTableKey {
        var caller: CallerKey
        var centre: Int32
        var service: Int32
        /// The caller part is already a keyed hash; fold in the rest and mix.
        var tableHash: UInt64 {
            mix64(
                caller.hi ^ (caller.lo &* 0x9E37_79B9_7F4A_7C15)
                    ^ (UInt64(UInt32(bitPattern: centre)) << 32 | UInt64(UInt32(bitPattern: service))))
        }
    }

    /// 32 bytes per caller scope. Every contact is handled or failed, so the latest
    /// contact of any kind is the later of `lastHandled` and `lastFailed`.
    struct ScopeState {
        static let never = Int64.min
        /// Number in the FCR queue of the latest contact if it awaits a verdict, else -1.
        var lastAnyFCR: Int64 = -1
        var lastHandled: Int64 = never
        var lastPending: Int64 = never
        var lastFailed: Int64 = never
        var lastAny: Int64 { max(lastHandled, lastFailed) }
    }

    struct FCREntry {
        var t: Int64
        var group: Int32
        var unresolved: Bool
        var hasLater: Bool
    }

    private let settings: AnalysisSettings
    private let reasons: Interner
    private let centres: Interner
    private let longCallIDs: LongCallIDs
    private let aggregator: Aggregator
    /// Contacts not yet released, in no order.
    @exclusivity(unchecked) private var waiting: [Contact] = []
    /// Where `release` puts the contacts not yet due.
    @exclusivity(unchecked) private var later: [Contact] = []
    /// The order in which `release` classifies `waiting`.
    @exclusivity(unchecked) private var order: [SortKey] = []
    /// Kept at least 64% full (grown by a quarter at 80%), so that a caller scope costs
    /// at most 57 / 0.64 ≈ 89 bytes of table.
    private let scopes = ShardTable<ScopeKey, ScopeState>(minimumCapacity: 1 << 12, maxLoad: 0.8, growth: 1.25)
    /// With durable state, the scopes of earlier runs as they lie on disk, newest first
    /// (`ScopeLayer`): a scope not in `scopes` is looked up there, and taken into `scopes`
    /// when a contact of it is classified. `scopes` then holds what this run touched.
    @exclusivity(unchecked) var layers: [ScopeLayer] = []
    /// FCR verdicts awaiting settlement, in `t` order, addressed by sequence number.
    private let fcrQueue = SequenceQueue<FCREntry>(minimumCapacity: 1 << 12)
    /// Reserved reason codes by interned reason id (filled lazily: ids grow as read).
    @exclusivity(unchecked) private var reasonClass: [AvoidableClass?] = []
    @exclusivity(unchecked) private var lastSweep = Int64.min
    /// Every contact with `t` below this has been classified; none may arrive any more.
    @exclusivity(unchecked) private var releasedBelow = Int64.min

    package init(
        settings: AnalysisSettings, centres: Interner, reasons: Interner, longCallIDs: LongCallIDs,
        aggregator: Aggregator, sweepInterval: Int64 = Classifier.defaultSweepInterval
    ) {
        self.sweepInterval = sweepInterval
        self.settings = settings
        self.centres = centres
        self.reasons = reasons
        self.longCallIDs = longCallIDs
        self.aggregator = aggregator
        inFlight.initialize(repeating: 0, count: Self.ahead)
    }

    deinit { inFlight.deallocate() }

    /// Caller scopes remembered in memory (with durable state, those this run touched).
    package var liveScopes: Int { scopes.count }
    /// FCR verdicts awaiting settlement.
    var pendingVerdicts: Int { fcrQueue.count }
    /// Every contact with `t` below this has been classified; none may arrive any more
    /// (`.min` before the first `advance`).
    var classifiedBelow: Int64 { releasedBelow }

    /// Whether every queued FCR entry names one of the part's first `groups` base groups
    /// (a restored part's check: the entries are read before the groups).
    func fcrGroups(below groups: Int) -> Bool {
        var n = fcrQueue.head
        while n < fcrQueue.tail {
            let g = fcrQueue[n].group
            if g < 0 || Int(g) >= groups { return false }
            n += 1
        }
        return true
    }
    /// Bytes held by the caller-scope table.
    package var scopeTableBytes: Int { scopes.allocatedBytes }

    /// Records the contacts of `cs` and leaves it empty (with its capacity). The storage
    /// moves rather than being shared, so neither side copies it on its next change.
    package func take(_ cs: inout [Contact]) {
        for c in cs { precondition(c.t >= releasedBelow, "contact arrived after its place in the order was passed") }
        if waiting.isEmpty {
            swap(&waiting, &cs)
        } else {
            waiting.append(contentsOf: cs)
            cs.removeAll(keepingCapacity: true)
        }
    }

    /// Classifies every contact with `t` + timeout below `watermark`, and settles the
    /// FCR verdicts that no future contact can change.
    package func advance(to watermark: Int64) {
        releasedBelow = watermark &- settings.callTimeout
        release(below: releasedBelow)
        settle(before: releasedBelow &- settings.repeatWindow, horizon: nil)
        sweepScopes(releasedBelow: releasedBelow)
    }

    /// End of input: classifies everything left and judges maturity against `horizon`.
    package func finish(horizon: Int64) {
        release(below: .max)
        settle(before: .max, horizon: horizon)
    }

    /// End of input in two steps, so that what the end leaves queued can be written between
    /// them (`Part.finish(horizon:summary:)`): this classifies everything left; then
    /// `forEachQueuedVerdict` gives the FCR verdicts still queued, and `finish(horizon:)`
    /// judges them.
    func classifyAll() { release(below: .max) }

    /// Calls `body(t, group, resolved)` for each FCR verdict still queued, in queue order.
    func forEachQueuedVerdict(_ body: (Int64, Int32, Bool) -> Void) {
        var n = fcrQueue.head
        while n < fcrQueue.tail {
            let e = fcrQueue[n]
            body(e.t, e.group, !e.unresolved && !e.hasLater)
            n += 1
        }
    }

    /// Takes the contacts with `t` below `limit` out of `waiting` and classifies them in
    /// the order of docs/metrics.md, "Classes and FCR".
    private func release(below limit: Int64) {
        // Contacts come out of the assembler about when they are due, so usually all of
        // them are: those are sorted where they lie, the rest wait in `later`.
        later.removeAll(keepingCapacity: true)
        var kept = 0
        for i in waiting.indices {
            if waiting[i].t < limit {
                if kept != i { waiting[kept] = waiting[i] }
                kept += 1
            } else {
                later.append(waiting[i])
            }
        }
        waiting.removeLast(waiting.count - kept)
        // Sorted by reference: a contact is over a hundred bytes, and they come nearly in
        // order, so moving (t, index) pairs is cheaper than moving the contacts. The order
        // is total (no two contacts share t, call and centre), so any sort gives it.
        order.removeAll(keepingCapacity: true)
        for i in waiting.indices { order.append(SortKey(t: waiting[i].t, index: i)) }
        waiting.withUnsafeBufferPointer { w in
            order.sort { a, b in a.t != b.t ? a.t < b.t : precedes(w[a.index], w[b.index]) }
            // Scope entries are fetched ahead in two steps: the tag of the home slot
            // `ahead` contacts ahead, then the entry itself half as far ahead (see
            // `ShardTable.prefetchTag`). Each key is hashed once, at the first step.
            let ahead = Self.ahead
            @inline(__always) func fetch(_ k: Int) {
                let c = w[order[k].index]
                let h = c.identified ? scopeKey(c).tableHash : 0
                inFlight[k & (ahead - 1)] = h
                if c.identified {
                    scopes.prefetchTag(hash: h)
                    for l in layers { l.prefetchIndex(hash: h) }
                }
            }
            @inline(__always) func fetchSlot(_ k: Int) {
                if w[order[k].index].identified {
                    let h = inFlight[k & (ahead - 1)]
                    scopes.prefetchSlot(hash: h)
                    for l in layers { l.prefetchRecords(hash: h) }
                }
            }
            for k in 0..<min(ahead, order.count) { fetch(k) }
            for k in 0..<min(ahead / 2, order.count) { fetchSlot(k) }
            for k in order.indices {
                let h = inFlight[k & (ahead - 1)]
                if k + ahead < order.count { fetch(k + ahead) }
                if k + ahead / 2 < order.count { fetchSlot(k + ahead / 2) }
                classify(w[order[k].index], scopeHash: h)
            }
        }
        swap(&waiting, &later)
    }

    struct SortKey {
        var t: Int64
        var index: Int
    }

    /// The order of docs/metrics.md, "Classes and FCR": `t`, then `call`, then `centre`,
    /// the last two as bytes.
    private func precedes(_ a: Contact, _ b: Contact) -> Bool {
        if a.t != b.t { return a.t < b.t }
        if a.call != b.call { return CallID.precedes(a.call, b.call, long: longCallIDs) }
        if a.centre == b.centre { return false }
        return centres[a.centre].utf8.lexicographicallyPrecedes(centres[b.centre].utf8)
    }

    /// The scopes a preview changes, kept aside from `scopes` (`previewVerdicts`); kept
    /// from one preview to the next, emptied at the start of each.
    private let previewScopes = ShardTable<ScopeKey, ScopeState>(minimumCapacity: 1 << 8)

    /// How many contacts ahead `release` fetches scope entries (a power of two).
    private static let ahead = 16
    /// The scope hashes of the contacts fetched ahead, the `k`th in slot `k % ahead`.
    private let inFlight = UnsafeMutablePointer<UInt64>.allocate(capacity: Classifier.ahead)

    /// Classifies `c`, whose scope key's `tableHash` is `scopeHash` if it is identified.
    private func classify(_ c: Contact, scopeHash: UInt64) {
        let g = aggregator.group(of: c)
        let byReason = reasonClass(c.reason)
        var cls: AvoidableClass? = byReason == .progressChase ? .progressChase : nil
        if c.identified {
            let key = scopeKey(c)
            let slot = scopes.find(key, hash: scopeHash) ?? scopes.insert(key, stored(key, hash: scopeHash) ?? ScopeState(), hash: scopeHash)
            var s = scopes[slot]
            let marks = judge(c, &s, &cls)
            // Below the head only in a state whose queue was damaged past what its
            // checks see (a run never looks up an entry that has left the queue).
            if marks >= fcrQueue.head { fcrQueue[marks].hasLater = true }
            if c.handled {
                s.lastAnyFCR = fcrQueue.append(FCREntry(t: c.t, group: g, unresolved: c.outcome == .unresolved, hasLater: false))
            }
            scopes[slot] = s
        }
        aggregator.record(c, group: g, avoidableClass: finalClass(c, cls, byReason), settings: settings)
    }

    /// The part of classifying identified contact `c` that depends on its scope's state
    /// `s` (docs/metrics.md, "Classes and FCR"): the window classes into `cls` (when the
    /// reason has not set one), `s` updated for `c` (except the FCR queue number of `c`
    /// itself, which the caller sets when `c` is handled), and the FCR queue number of the
    /// scope's previous contact when `c` is its later contact within W (else -1).
    @inline(__always)
    private func judge(_ c: Contact, _ s: inout ScopeState, _ cls: inout AvoidableClass?) -> Int64 {
        if cls == nil, within(s.lastPending, c.t, settings.chaseWindow) { cls = .progressChase }
        if cls == nil, within(s.lastHandled, c.t, settings.repeatWindow) { cls = .repeat }
        if cls == nil, within(s.lastFailed, c.t, settings.retryWindow) { cls = .retry }
        var marks: Int64 = -1
        if s.lastAnyFCR >= 0, within(s.lastAny, c.t, settings.repeatWindow) { marks = s.lastAnyFCR }
        s.lastAnyFCR = -1
        if c.handled {
            s.lastHandled = c.t
            if c.outcome == .pending { s.lastPending = c.t }
        }
        if c.failed { s.lastFailed = c.t }
        return marks
    }

    /// The classes that do not depend on other contacts, when none has been found
    /// (`byReason`: the class the contact's reason code gives, if any).
    @inline(__always)
    private func finalClass(_ c: Contact, _ cls: AvoidableClass?, _ byReason: AvoidableClass?) -> AvoidableClass? {
        if cls != nil { return cls }
        if byReason == .misdirected || c.transferredElsewhere { return .misdirected }
        if byReason == .clarification { return .clarification }
        return nil
    }

    /// Counts the FCR verdicts of contacts with `t` < `limit`, oldest first.
    /// With no `horizon`, these are mature: the watermark, below the horizon, is past t + W.
    private func settle(before limit: Int64, horizon: Int64?) {
        while let e = fcrQueue.first, e.t < limit {
            let mature = horizon.map { e.t &+ settings.repeatWindow <= $0 } ?? true
            aggregator.recordFCR(group: e.group, mature: mature, resolved: !e.unresolved && !e.hasLater)
            fcrQueue.removeFirst()
        }
    }

    /// Forgets scopes that no contact still to come (all have `t ≥ releasedBelow`) can
    /// need: each remembered time is past its own window (a pending outcome past the chase
    /// window, a handled contact past the repeat window, a failed one past the retry
    /// window), and the latest contact, if it awaits an FCR verdict, is past the repeat
    /// window. Callers who rang once, long ago, leave after W, not after the longest window.
    ///
    /// A sweep passes over the whole table, so it runs once per `sweepInterval` of
    /// watermark progress (`defaultSweepInterval` unless a test sets another). Which
    /// scopes are still held changes no result: a scope whose every time is past its
    /// window behaves exactly like an absent one.
    private func sweepScopes(releasedBelow rb: Int64, now: Bool = false) {
        if !now && (lastSweep == .min || rb == .max) { lastSweep = rb; return }
        guard now || rb - lastSweep >= sweepInterval else { return }
        lastSweep = rb
        scopes.removeAll { _, s in forgettable(s, releasedBelow: rb) }
    }

    /// Whether no contact still to come (all have `t ≥ rb`) can need scope state `s`.
    @inline(__always)
    private func forgettable(_ s: ScopeState, releasedBelow rb: Int64) -> Bool {
        let c = settings.chaseWindow, w = settings.repeatWindow, r = settings.retryWindow
        return (s.lastPending == ScopeState.never || s.lastPending < rb &- c)
            && (s.lastHandled == ScopeState.never || s.lastHandled < rb &- w)
            && (s.lastFailed == ScopeState.never || s.lastFailed < rb &- r)
            && (s.lastAnyFCR < 0 || s.lastAny < rb &- w)
    }

    /// Scope `key`'s state in the newest layer that holds it (nil: none does, a new scope).
    /// A layer may hold a state that is forgettable now: it behaves as an absent one.
    @inline(__always)
    private func stored(_ key: ScopeKey, hash h: UInt64) -> ScopeState? {
        for l in layers {
            if let s = l.find(key, hash: h) { return s }
        }
        return nil
    }

    /// `ExecutionOptions.defaultScopeSweepInterval` (three days).
    package static let defaultSweepInterval: Int64 = ExecutionOptions.defaultScopeSweepInterval
    private let sweepInterval: Int64

    @inline(__always)
    private func within(_ prior: Int64, _ t: Int64, _ window: Int64) -> Bool {
        prior != ScopeState.never && t &- prior <= window
    }

    private func scopeKey(_ c: Contact) -> ScopeKey {
        switch settings.scope {
        case .global: ScopeKey(caller: c.caller, centre: -1, service: -1)
        case .centre: ScopeKey(caller: c.caller, centre: c.centre, service: -1)
        case .service: ScopeKey(caller: c.caller, centre: c.centre, service: c.service)
        }
    }

    private func reasonClass(_ id: Int32) -> AvoidableClass? {
        guard id >= 0 else { return nil }
        while reasonClass.count <= Int(id) {
            // The reserved codes (docs/metrics.md, "Classes and FCR"), or a centre's own
            // codes through `--reason-map`.
            reasonClass.append(ReasonTaxonomy.avoidableClass(of: reasons[Int32(reasonClass.count)], map: settings.reasonMap))
        }
        return reasonClass[Int(id)]
    }
}

// MARK: Reports while the run goes on (docs/architecture.md, "The engine session")

extension Classifier {
    /// Counts into `tally` what `finish(horizon:)` would count after taking `extra`, the
    /// contacts of the calls still in progress, without changing this classifier: the
    /// waiting contacts and `extra` are classified in order against the scope table, read
    /// only (scopes they change are kept aside), and every FCR verdict still queued, with
    /// those they add, is judged against `horizon`.
    ///
    /// - Complexity: O(waiting + extra) lookups, and O(verdicts queued) to judge them.
    func preview(adding extra: [Contact], horizon: Int64, into tally: inout Aggregator.Tally) {
        let w = settings.repeatWindow
        previewVerdicts(adding: extra, into: &tally) { t, group, resolved, tally in
            tally.recordFCR(group: group, mature: t &+ w <= horizon, resolved: resolved)
        }
    }

    /// Classifies the waiting contacts and `extra` into `tally` as `finish` would, reading
    /// the scope table only, then hands every FCR verdict the end leaves queued to
    /// `verdict(t, group, resolved, &tally)`, in queue order.
    private func previewVerdicts(
        adding extra: [Contact], into tally: inout Aggregator.Tally,
        _ verdict: (Int64, Int32, Bool, inout Aggregator.Tally) -> Void
    ) {
        // Scopes the preview changes, kept aside (the table is kept for the next preview).
        let changed = previewScopes
        changed.removeAll { _, _ in true }
        changed.reserveEmpty(waiting.count + extra.count)
        // Verdicts of the queue marked by a contact of the preview, and those it adds
        // (numbered on from the queue's tail).
        var marked: [Int64] = []
        var added: [FCREntry] = []
        let tail = fcrQueue.tail
        waiting.withUnsafeBufferPointer { waiting in
            extra.withUnsafeBufferPointer { extra in
                let n = waiting.count
                @inline(__always) func contact(_ i: Int) -> Contact { i < n ? waiting[i] : extra[i - n] }
                // Sorted by reference, as `release` sorts (a contact is over a hundred bytes).
                var order = [SortKey]()
                order.reserveCapacity(n + extra.count)
                for i in 0..<(n + extra.count) { order.append(SortKey(t: contact(i).t, index: i)) }
                order.sort { a, b in a.t != b.t ? a.t < b.t : precedes(contact(a.index), contact(b.index)) }
                // Scope entries fetched ahead, as `release` fetches them.
                var hashes = [UInt64](repeating: 0, count: order.count)
                for k in order.indices {
                    let c = contact(order[k].index)
                    if c.identified { hashes[k] = scopeKey(c).tableHash }
                }
                let ahead = Self.ahead
                for k in order.indices {
                    if k + ahead < order.count, hashes[k + ahead] != 0 { scopes.prefetchTag(hash: hashes[k + ahead]) }
                    if k + ahead / 2 < order.count, hashes[k + ahead / 2] != 0 { scopes.prefetchSlot(hash: hashes[k + ahead / 2]) }
                    let c = contact(order[k].index)
                    let g = tally.group(of: c)
                    let byReason = reasonClass(c.reason)
                    var cls: AvoidableClass? = byReason == .progressChase ? .progressChase : nil
                    if c.identified {
                        let key = scopeKey(c)
                        let h = hashes[k]
                        let slot = changed.find(key, hash: h)
                        var s =
                            slot.map { changed[$0] } ?? scopes.find(key, hash: h).map { scopes[$0] } ?? stored(key, hash: h)
                            ?? ScopeState()
                        let marks = judge(c, &s, &cls)
                        if marks >= tail {
                            added[Int(marks &- tail)].hasLater = true
                        } else if marks >= fcrQueue.head {
                            marked.append(marks)
                        }
                        if c.handled {
                            s.lastAnyFCR = tail &+ Int64(added.count)
                            added.append(FCREntry(t: c.t, group: g, unresolved: c.outcome == .unresolved, hasLater: false))
                        }
                        if let slot { changed[slot] = s } else { _ = changed.insert(key, s, hash: h) }
                    }
                    tally.record(c, group: g, avoidableClass: finalClass(c, cls, byReason), settings: settings)
                }
            }
        }
        marked.sort()
        var m = 0
        var q = fcrQueue.head
        while q < tail {
            let e = fcrQueue[q]
            while m < marked.count && marked[m] < q { m += 1 }
            let isMarked = m < marked.count && marked[m] == q
            verdict(e.t, e.group, !e.unresolved && !e.hasLater && !isMarked, &tally)
            q += 1
        }
        for e in added { verdict(e.t, e.group, !e.unresolved && !e.hasLater, &tally) }
    }
}

// MARK: Durable state (docs/architecture.md, "Durable state")

extension Classifier {
    /// Writes what this classifier holds but its caller scopes (`writeScopes`): the
    /// contacts awaiting classification, the FCR verdicts awaiting settlement, and how far
    /// it has gone. Scopes no contact still to come can need are forgotten first (a sweep
    /// changes no result).
    func encode(into w: inout StateWriter) {
        if releasedBelow != .min && releasedBelow != .max { sweepScopes(releasedBelow: releasedBelow, now: true) }
        w.int(releasedBelow)
        w.int(lastSweep)
        w.count(waiting.count)
        for c in waiting { StateCodec.encode(c, into: &w) }

        w.int(fcrQueue.head)
        w.count(fcrQueue.count)
        var previous: Int64 = 0
        var n = fcrQueue.head
        while n < fcrQueue.tail {
            let e = fcrQueue[n]
            w.int(e.t &- previous)
            previous = e.t
            w.int(e.group)
            w.u8((e.unresolved ? 1 : 0) | (e.hasLater ? 2 : 0))
            n += 1
        }
    }

    /// Writes the caller scopes this run touched (after `encode`) as a new layer on top of
    /// the part's layers (docs/architecture.md, "Caller scopes on disk"), merging as it
    /// goes so that the layers stay few and the disk holds little more than the live
    /// scopes:
    /// - when the layers above the oldest, with the new one, would outgrow a quarter of the
    ///   oldest (`policy`; up to seven sixteenths: `stagger`, from 0 to 3, spreads the
    ///   parts' full merges over different runs), all are merged into one, so that the
    ///   disk holds at most about 1.44 records per scope;
    /// - else when there would be more than `policy.maxLayers`, the new one and those
    ///   above the oldest are merged into one;
    /// - else the new one is added.
    /// A merge keeps the newest state of each scope and leaves out those no contact still
    /// to come can need.
    ///
    /// - Returns: the layers that now hold the part's scopes, newest first, and the path
    ///   of the file written (nil when nothing needed writing), for the caller to remove
    ///   if the run does not commit.
    func writeScopes(
        to folder: PartFolder, index: Int, policy: ScopeLayer.Policy, stagger: Int
    ) throws -> (layers: [ScopeLayer.Ref], written: String?) {
        var mine: [HashedScope] = []
        mine.reserveCapacity(scopes.count)
        scopes.forEach { k, s in mine.append(HashedScope(hash: k.tableHash, key: k, state: s)) }
        // The table's slots are in hash order but for the runs its probing displaced (and
        // those that wrapped round its end): a merge sort finds the runs.
        mine.sort { ScopeOrder.precedes($0.hash, $0.key, $1.hash, $1.key) }
        let oldest = layers.last?.count ?? 0
        let above = layers.dropLast().reduce(0) { $0 + $1.count } + mine.count
        let merged: [ScopeLayer]
        let kept: [ScopeLayer]
        if !layers.isEmpty && above * 16 > oldest * (policy.fullMergeSixteenths + stagger % 4) {
            merged = layers
            kept = []
        } else if layers.count + 1 > policy.maxLayers {
            merged = Array(layers.dropLast())
            kept = [layers.last!]
        } else {
            merged = []
            kept = layers
        }
        if mine.isEmpty && merged.isEmpty { return (layers.map(\.ref), nil) }
        let (name, file) = try folder.scopeWriter(index: index)
        do {
            var out = ScopeLayerWriter(file: file, name: name, atMost: merged.reduce(mine.count) { $0 + $1.count })
            if merged.isEmpty {
                for m in mine { try out.add(m.key, m.state, hash: m.hash) }
            } else {
                let rb = releasedBelow
                let sweeps = rb != .min && rb != .max
                try ScopeLayer.merge(mine, merged, into: &out) { sweeps && forgettable($0, releasedBelow: rb) }
            }
            let ref = try out.finish()
            return ([ref] + kept.map(\.ref), file.temporaryPath)
        } catch {
            file.discard()
            throw error
        }
    }

    /// Reads what `encode` wrote into this classifier, which must be new; its scopes are
    /// `layers`, newest first. A version 2 or 3 file holds the scopes after the verdicts,
    /// read into memory (they are written as the part's first layer by its next run).
    func restore(from r: inout StateReader, layers: [ScopeLayer]) throws {
        precondition(scopes.count == 0 && waiting.isEmpty && fcrQueue.isEmpty, "restore into a used classifier")
        self.layers = layers
        // Room for about as many scopes as the last run touched (its layer, unless it
        // merged), so that the table does not grow step by step through the run.
        if let newest = layers.first {
            scopes.reserveEmpty(min(newest.count, layers.reduce(0) { $0 + $1.count } / 4) * 5 / 4)
        }
        releasedBelow = try r.int()
        lastSweep = try r.int()
        let waitingCount = try r.count(minBytes: 30)
        waiting.reserveCapacity(waitingCount)
        for _ in 0..<waitingCount {
            let c = try StateCodec.decodeContact(from: &r)
            // `release` took every contact below it; none below it may arrive (`take`).
            guard c.t >= releasedBelow else { throw r.malformed("a contact awaiting classification before the time classified to") }
            waiting.append(c)
        }

        let head = try r.int()
        fcrQueue.restart(at: head)
        let fcrCount = try r.count(minBytes: 3)
        var previous: Int64 = 0
        for _ in 0..<fcrCount {
            let t = previous &+ (try r.int())
            previous = t
            let group = try r.int32()
            let flags = try r.u8()
            fcrQueue.append(FCREntry(t: t, group: group, unresolved: flags & 1 != 0, hasLater: flags & 2 != 0))
        }
        // A scope names its latest handled contact's entry, which the queue had appended
        // when the scope was written: never one at or past the queue's tail. (One below
        // its head has left the queue with its window, and is never looked up.)
        if let layer = layers.first(where: { $0.greatestFCREntry >= fcrQueue.tail }) {
            throw r.malformed("caller scopes (\(layer.ref.name)) that name an FCR entry past the part's queue")
        }
        if r.version < 4 { try restoreScopesInline(from: &r, head: head) }
    }

    /// The scopes of a version 2 or 3 part: each scope's times as distances back from the
    /// latest of them (0 for never), its FCR queue number from the queue's head.
    private func restoreScopesInline(from r: inout StateReader, head: Int64) throws {
        let base = try r.int()
        let scopeCount = try r.count(minBytes: 20)
        // A quarter more room than the restored scopes: the run adds its new callers, and a
        // table filled to its limit would grow at the first of them (twice the memory, every
        // scope moved, the new pages zeroed).
        scopes.reserveEmpty(scopeCount + scopeCount / 4)
        func time() throws -> Int64 {
            let v = try r.varint()
            return v == 0 ? ScopeState.never : base &- Int64(bitPattern: v &- 1)
        }
        for _ in 0..<scopeCount {
            let key = ScopeKey(caller: CallerKey(hi: try r.u64(), lo: try r.u64()), centre: try r.int32(), service: try r.int32())
            var s = ScopeState()
            s.lastHandled = try time(); s.lastPending = try time(); s.lastFailed = try time()
            let f = try r.varint()
            if f != 0 {
                let z = f &- 1
                s.lastAnyFCR = head &+ Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
                guard s.lastAnyFCR < fcrQueue.tail else { throw r.malformed("a caller scope that names an FCR entry past the queue") }
            }
            guard scopes.find(key) == nil else { throw r.malformed("a caller scope twice") }
            scopes.insert(key, s)
        }
    }
}

/// For the dictionary of `preview`, hashed as the table hashes it.
extension Classifier.ScopeKey: Hashable {
    func hash(into hasher: inout Hasher) { hasher.combine(tableHash) }
}
