import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSiftConcurrency

/// What became of the events and calls of an input (docs/metrics.md, "Accounting"):
/// events taken and duplicates dropped, calls that became contacts, incomplete or
/// conflicting calls, and the greatest `ts` seen.
public struct CallAccounting: Sendable, Equatable {
    public var events: Int64 = 0
    public var duplicates: Int64 = 0
    public var contacts: Int64 = 0
    public var incomplete: Int64 = 0
    public var conflicting: Int64 = 0
    /// Greatest `ts` among accepted events; `Int64.min` when there are none.
    public var horizon: Int64 = .min

    public init() {}

    public mutating func merge(_ o: CallAccounting) {
        events += o.events; duplicates += o.duplicates; contacts += o.contacts
        incomplete += o.incomplete; conflicting += o.conflicting
        horizon = max(horizon, o.horizon)
    }
}

/// Assembles events into calls, keyed by (centre, call), and validates them
/// (docs/metrics.md, "Calls" and "Accounting").
///
/// A call is the set of events of one key whose `ts` lie within the call timeout of the
/// earliest of them; later events of the key start the next call. Events arrive out of
/// order, so each key keeps its events until the watermark passes the earliest one's
/// `ts` + timeout: from then on any event that could still join would be late. Then the
/// first call of the key is cut off, validated, and either becomes a `Contact` or is
/// counted as incomplete or conflicting. State therefore follows the calls in progress,
/// not the input's size.
///
/// Duplicates, events equal in (centre, call, event, ts), always fall in the same call
/// as their original and are found there.
///
/// Storage: an `ArrivalTable` from key to the call in progress, whose first three events
/// (most calls have three: arrive, answer, end) sit inline in the table entry, so that
/// recording or cutting a call touches one entry rather than a chain of records; further
/// events go to a `SlabPool` of fixed-size records linked by index. Deadlines wait in a
/// `DeadlineWheel`. Nothing is allocated per call or per event once these have grown.
/// Calls stay for the call timeout, so the table is far larger than the caches; its
/// entries lie in the order the calls began, so the calls still receiving events are
/// near each other, and `record` and `advance` fetch the index and then the entries of
/// the keys a few steps ahead.
///
/// The stage protocol: `record` the events, `advance(to:)` with each new watermark,
/// `finish` at end of input; completed contacts are appended to the caller's array in no
/// particular order.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
package final class CallAssembler {
    package typealias Accounting = CallAccounting

    /// One event as a call keeps it.
    struct CallEvent {
        var ts: Int64
        var caller: CallerKey
        var service: Int32
        var reason: Int32
        /// Next event of the same key in the pool, -1 at the end.
        var next: Int32
        var kind: EventKind
        var outcome: Outcome
        var identified: Bool

        /// Lifecycle order: by time, ties by arrive, answer, transfer, terminal.
        static func before(_ a: CallEvent, _ b: CallEvent) -> Bool {
            a.ts != b.ts ? a.ts < b.ts : a.kind.lifecycleRank < b.kind.lifecycleRank
        }
    }

    struct Key: ShardTableKey {
        var call: CallID
        var centre: Int32
        var tableHash: UInt64 {
            @inline(__always) get { mix64(call.hash64 ^ UInt64(UInt32(bitPattern: centre))) }
        }

        init(call: CallID, centre: Int32) {
            self.call = call
            self.centre = centre
        }

        @inline(__always)
        init(_ e: Event) { self.init(call: e.call, centre: e.centre) }
    }

    /// A key's events not yet cut into a call.
    struct Pending {
        static let inlineCapacity = 3
        /// `ts` of the earliest pending event.
        var earliest: Int64
        /// Events beyond the inline ones, in the pool, newest first; -1 when none.
        var overflow: Int32 = -1
        /// Events held inline, in the order they were recorded.
        var inlineCount: UInt8 = 0
        var inline: (CallEvent, CallEvent, CallEvent)
        /// Makes a table entry (key and this) exactly three cache lines, so that no entry
        /// straddles a fourth.
        private var padding: Int64 = 0

        init(first: CallEvent) {
            earliest = first.ts
            inline = (first, first, first)
            inlineCount = 1
        }

        /// The first inline event of the pending events at `p`.
        @inline(__always)
        static func inlineEvents(_ p: UnsafeMutablePointer<Pending>) -> UnsafePointer<CallEvent> {
            UnsafePointer((UnsafeRawPointer(p) + MemoryLayout<Pending>.offset(of: \Pending.inline)!).assumingMemoryBound(to: CallEvent.self))
        }

        subscript(i: Int) -> CallEvent {
            @inline(__always) get {
                switch i {
                case 0: inline.0
                case 1: inline.1
                default: inline.2
                }
            }
            @inline(__always) set {
                switch i {
                case 0: inline.0 = newValue
                case 1: inline.1 = newValue
                default: inline.2 = newValue
                }
            }
        }
    }

    private let timeout: Int64
    private let pending = ArrivalTable<Key, Pending>(minimumCapacity: 1 << 12)
    private let pool = SlabPool<CallEvent>(capacity: 1 << 14)
    /// When each key's first call becomes final; entries made stale by an earlier event
    /// arriving are skipped when they come up.
    private let deadlines: DeadlineWheel<Key>
    @exclusivity(unchecked) private var scratch: [CallEvent] = []
    /// Hashes of the keys fetched ahead, the `n`th in slot `n % ahead`.
    private let inFlight = UnsafeMutablePointer<UInt64>.allocate(capacity: CallAssembler.ahead)
    @exclusivity(unchecked) private var due: [(at: Int64, item: Key)] = []
    @exclusivity(unchecked) package private(set) var accounting = Accounting()

    package init(callTimeout: Int64, lateness: Int64 = 10 * 60_000) {
        self.timeout = callTimeout
        // Deadlines run up to a timeout (plus the lateness bound) ahead of the watermark.
        // Buckets of 8 s: few enough that each is reused (and keeps its storage) many
        // times over, small enough that the bucket at the watermark holds few entries.
        deadlines = DeadlineWheel(span: callTimeout + lateness + 3_600_000, shift: 13)
        inFlight.initialize(repeating: 0, count: Self.ahead)
    }

    deinit { inFlight.deallocate() }

    /// Calls in progress.
    package var liveKeys: Int { pending.count }

    /// Records `events`, in order.
    package func record(_ events: UnsafeBufferPointer<Event>) {
        fetchingAhead(events.count, key: { Key(events[$0]) }) { i, h in record(events[i], hash: h) }
    }

    /// Calls `body(i, hash of key(i))` for each i in `0 ..< count`, in order, with the table
    /// entry of `key(i)` fetched ahead in two steps: its index line `ahead` items before its
    /// turn, then the entry itself half as far before (`ArrivalTable.prefetch(hash:)`,
    /// `prefetchEntry(hash:)`). Each key is hashed once, for the first step; `inFlight`
    /// keeps the hash until its turn.
    @inline(__always)
    private func fetchingAhead(_ count: Int, key: (Int) -> Key, _ body: (Int, UInt64) -> Void) {
        for i in 0..<min(Self.ahead, count) { fetch(key(i), as: i) }
        for i in 0..<min(Self.ahead / 2, count) { pending.prefetchEntry(hash: inFlight[i]) }
        for i in 0..<count {
            let h = inFlight[i & (Self.ahead - 1)]
            if i + Self.ahead < count { fetch(key(i + Self.ahead), as: i + Self.ahead) }
            if i + Self.ahead / 2 < count { pending.prefetchEntry(hash: inFlight[(i + Self.ahead / 2) & (Self.ahead - 1)]) }
            body(i, h)
        }
    }

    /// How many keys ahead `record` and `advance` fetch table entries.
    private static let ahead = 16

    /// Prefetches `key`'s index line and keeps its hash as the `n`th in flight.
    @inline(__always)
    private func fetch(_ key: Key, as n: Int) {
        let h = key.tableHash
        inFlight[n & (Self.ahead - 1)] = h
        pending.prefetch(hash: h)
    }

    /// Records one event; `h` is its key's `tableHash`.
    @inline(__always)
    private func record(_ e: Event, hash h: UInt64) {
        let key = Key(e)
        let ce = CallEvent(
            ts: e.ts, caller: e.caller, service: e.service, reason: e.reason, next: -1,
            kind: e.kind, outcome: e.outcome, identified: e.identified)
        if let slot = pending.find(key, hash: h) {
            let n = Int(pending[slot].inlineCount)
            for j in 0..<n where pending[slot][j].ts == ce.ts && pending[slot][j].kind == ce.kind {
                accounting.duplicates += 1
                return
            }
            var i = pending[slot].overflow
            while i >= 0 {
                if pool[i].ts == ce.ts && pool[i].kind == ce.kind {
                    accounting.duplicates += 1
                    return
                }
                i = pool[i].next
            }
            append(ce, to: &pending[slot])
            if ce.ts < pending[slot].earliest {
                pending[slot].earliest = ce.ts
                deadlines.push(ce.ts &+ timeout, key)
            }
        } else {
            pending.insert(key, Pending(first: ce), hash: h)
            deadlines.push(ce.ts &+ timeout, key)
        }
        accounting.events += 1
        if e.ts > accounting.horizon { accounting.horizon = e.ts }
    }

    @inline(__always)
    private func append(_ e: CallEvent, to p: inout Pending) {
        let n = Int(p.inlineCount)
        if n < Pending.inlineCapacity {
            p[n] = e
            p.inlineCount += 1
        } else {
            var e = e
            e.next = p.overflow
            p.overflow = pool.allocate(e)
        }
    }

    /// Finalises every call whose earliest event is more than the timeout below
    /// `watermark`, appending the contacts to `out`.
    package func advance(to watermark: Int64, into out: inout [Contact]) {
        // Cutting a call may set the key's next deadline, itself possibly due: it comes
        // back in a later round.
        while deadlines.takeDue(before: watermark, into: &due) {
            fetchingAhead(due.count, key: { due[$0].item }) { i, h in cut(at: due[i].at, key: due[i].item, hash: h, &out) }
            due.removeAll(keepingCapacity: true)
        }
    }

    /// Finalises everything: end of input.
    package func finish(into out: inout [Contact]) { advance(to: .max, into: &out) }

    private func cut(at deadline: Int64, key: Key, hash h: UInt64, _ out: inout [Contact]) {
        guard let slot = pending.find(key, hash: h), pending[slot].earliest &+ timeout == deadline else { return }
        // Nearly always the key's events are all inline, in lifecycle order, and all in
        // this call: they are validated where they are, without gathering them.
        if pending[slot].overflow < 0 {
            // Read where they lie in the table, not copied out: the inline events are a
            // homogeneous tuple, laid out as an array of three.
            let events = UnsafeBufferPointer(
                start: Pending.inlineEvents(pending.valuePointer(slot)),
                count: Int(pending[slot].inlineCount))
            var inOrder = events[events.count - 1].ts <= deadline
            for j in 1..<events.count where CallEvent.before(events[j], events[j - 1]) { inOrder = false }
            if inOrder {
                Self.close(events, key: key, &accounting, &out)
                pending.remove(at: slot, hash: h)
                return
            }
        }
        // The key's events in the order they were recorded: inline ones first, then the
        // pool's, which are linked newest first.
        scratch.removeAll(keepingCapacity: true)
        for j in 0..<Int(pending[slot].inlineCount) { scratch.append(pending[slot][j]) }
        let pooled = scratch.count
        var i = pending[slot].overflow
        while i >= 0 {
            scratch.append(pool[i])
            let next = pool[i].next
            pool.release(i)
            i = next
        }
        // Reversed by swapping in place (reversing a slice would copy it first).
        var lo = pooled, hi = scratch.count - 1
        while lo < hi {
            scratch.swapAt(lo, hi)
            lo += 1
            hi -= 1
        }
        // In-order input is already sorted.
        var sorted = true
        for j in 1..<max(scratch.count, 1) where CallEvent.before(scratch[j], scratch[j - 1]) { sorted = false; break }
        if !sorted { scratch.sort(by: CallEvent.before) }
        var n = 0
        while n < scratch.count && scratch[n].ts <= deadline { n += 1 }
        pending.remove(at: slot, hash: h)
        if n < scratch.count {
            // Events past the timeout start the key's next call, which goes to the back
            // of the table with the calls that began about when it did.
            var rest = Pending(first: scratch[n])
            for j in n + 1..<scratch.count { append(scratch[j], to: &rest) }
            pending.insert(key, rest, hash: h)
            deadlines.push(scratch[n].ts &+ timeout, key)
        }
        scratch.withUnsafeBufferPointer { Self.close(UnsafeBufferPointer(rebasing: $0[..<n]), key: key, &accounting, &out) }
    }

    /// Validates the call made of `events` (sorted in lifecycle order) and emits it as a
    /// contact or counts it as invalid.
    private static func close(
        _ events: UnsafeBufferPointer<CallEvent>, key: Key, _ accounting: inout Accounting, _ out: inout [Contact]
    ) {
        switch Self.validate(events) {
        case .incomplete: accounting.incomplete += 1
        case .conflicting: accounting.conflicting += 1
        case .contact(let a, let answered, let z):
            accounting.contacts += 1
            let arrive = events[a], terminal = events[z]
            var transferred = false
            var elsewhere = false
            var reason: Int32 = -1
            for e in events {
                if e.kind == .transfer {
                    transferred = true
                    if e.service >= 0 && e.service != arrive.service { elsewhere = true }
                }
                // Events are in (ts, lifecycle) order, so the last reason seen is the call's.
                if e.reason >= 0 { reason = e.reason }
            }
            let handled = answered >= 0
            let answerTs = handled ? events[answered].ts : terminal.ts
            out.append(
                Contact(
                    t: arrive.ts,
                    wait: answerTs - arrive.ts,
                    handle: handled ? terminal.ts - answerTs : 0,
                    caller: arrive.caller, call: key.call,
                    terminal: terminal.kind,
                    outcome: terminal.kind == .end ? terminal.outcome : .resolved,
                    identified: arrive.identified,
                    centre: key.centre, service: arrive.service, reason: reason,
                    handled: handled, transferred: transferred, transferredElsewhere: elsewhere))
        }
    }

    // MARK: Reports while the run goes on (docs/architecture.md, "The engine session")

    /// What `finish` would do after `extra` were recorded, without changing anything: the
    /// contacts of every call still in progress, appended to `out`, and the accounting
    /// then. `extra` are events taken but not yet recorded, in the order they would be.
    ///
    /// Each key's events are gathered in the order they were recorded, `extra` after them
    /// (with duplicates found as `record` finds them), and cut one call at a time exactly
    /// as `cut` cuts them at the end of input.
    ///
    /// `waiting`, when given, is told of each call whose caller is waiting in a queue now
    /// (docs/metrics.md, "Wallboard"): it has entered a queue (an arrive, or a transfer to
    /// a service), and has no answer and no terminal event. It is told the call's centre,
    /// the service of its last queue entry and that entry's time.
    ///
    /// - Complexity: O(calls in progress + extra).
    func preview(
        adding extra: UnsafeBufferPointer<Event>, into out: inout [Contact],
        waiting: ((_ centre: Int32, _ service: Int32, _ since: Int64) -> Void)? = nil
    ) -> Accounting {
        var acc = accounting
        var extraOf: [Key: [CallEvent]] = [:]
        var order: [Key] = []
        func recorded(_ key: Key) -> [CallEvent] {
            guard let slot = pending.find(key) else { return [] }
            var events: [CallEvent] = []
            for j in 0..<Int(pending[slot].inlineCount) { events.append(pending[slot][j]) }
            let inline = events.count
            var i = pending[slot].overflow
            while i >= 0 {
                events.append(pool[i])
                i = pool[i].next
            }
            events[inline...].reverse()
            return events
        }
        for e in extra {
            let key = Key(e)
            let ce = CallEvent(
                ts: e.ts, caller: e.caller, service: e.service, reason: e.reason, next: -1,
                kind: e.kind, outcome: e.outcome, identified: e.identified)
            if extraOf[key] == nil {
                extraOf[key] = []
                order.append(key)
            }
            let isDuplicate =
                extraOf[key]!.contains { $0.ts == ce.ts && $0.kind == ce.kind }
                || recorded(key).contains { $0.ts == ce.ts && $0.kind == ce.kind }
            if isDuplicate {
                acc.duplicates += 1
                continue
            }
            extraOf[key]!.append(ce)
            acc.events += 1
            if e.ts > acc.horizon { acc.horizon = e.ts }
        }
        // Each key's events in `events`, cut from the front one call at a time, sorted in
        // place where they are not in order (as `cut` does).
        var events: [CallEvent] = []
        events.reserveCapacity(64)
        func cutAll(_ key: Key) {
            var lo = 0
            while lo < events.count {
                var sorted = true
                var j = lo + 1
                while j < events.count {
                    if CallEvent.before(events[j], events[j - 1]) { sorted = false; break }
                    j += 1
                }
                if !sorted { events[lo...].sort(by: CallEvent.before) }
                let deadline = events[lo].ts &+ timeout
                var n = lo
                while n < events.count && events[n].ts <= deadline { n += 1 }
                events.withUnsafeBufferPointer { Self.close(UnsafeBufferPointer(rebasing: $0[lo..<n]), key: key, &acc, &out) }
                if let waiting, n == events.count { Self.queued(events[lo..<n]).map { waiting(key.centre, $0.service, $0.since) } }
                lo = n
            }
        }
        pending.forEach { key, p in
            events.removeAll(keepingCapacity: true)
            for j in 0..<Int(p.inlineCount) { events.append(p[j]) }
            if p.overflow >= 0 {
                let inline = events.count
                var i = p.overflow
                while i >= 0 {
                    events.append(pool[i])
                    i = pool[i].next
                }
                events[inline...].reverse()
            }
            if !extraOf.isEmpty, let more = extraOf.removeValue(forKey: key) { events += more }
            cutAll(key)
        }
        for key in order {
            guard let more = extraOf[key] else { continue }
            events = more
            cutAll(key)
        }
        return acc
    }

    /// The queue a call in progress waits in now, and since when: the last arrive or
    /// transfer to a service, when nothing answered or ended it.
    private static func queued(_ events: ArraySlice<CallEvent>) -> (service: Int32, since: Int64)? {
        var entry: (service: Int32, since: Int64)?
        for e in events {
            switch e.kind {
            case .answer, .abandon, .end, .blocked: return nil
            case .arrive, .transfer: if e.service >= 0 { entry = (e.service, e.ts) }
            }
        }
        return entry
    }

    // MARK: Durable state (docs/architecture.md, "Durable state")

    /// Writes the events of the calls in progress and the accounting: key by key in the
    /// order the keys' pending calls began, each key's events in the order they were
    /// recorded, so that recording them again in this order (`restore`) rebuilds the same
    /// calls, with the same event kept of any duplicate pair.
    func encode(into w: inout StateWriter) {
        w.int(accounting.events); w.int(accounting.duplicates); w.int(accounting.contacts)
        w.int(accounting.incomplete); w.int(accounting.conflicting); w.int(accounting.horizon)
        w.count(pending.count)
        var pooled: [CallEvent] = []
        pending.forEach { key, p in
            pooled.removeAll(keepingCapacity: true)
            var i = p.overflow
            while i >= 0 {
                pooled.append(pool[i])
                i = pool[i].next
            }
            w.count(Int(p.inlineCount) + pooled.count)
            StateCodec.encode(key.call, into: &w)
            w.int(key.centre)
            var previous: Int64 = 0
            for j in 0..<Int(p.inlineCount) { Self.encode(p[j], after: &previous, into: &w) }
            for e in pooled.reversed() { Self.encode(e, after: &previous, into: &w) }
        }
    }

    /// An event: its ts as the difference from the event before it in the call, its
    /// caller only when it has one (arrivals).
    private static func encode(_ e: CallEvent, after previous: inout Int64, into w: inout StateWriter) {
        let hasCaller = e.caller != .none
        w.u8(e.kind.rawValue | e.outcome.rawValue << 3 | (hasCaller ? 0x40 : 0) | (e.identified ? 0x80 : 0))
        w.int(e.ts &- previous)
        previous = e.ts
        if hasCaller { w.u64(e.caller.hi); w.u64(e.caller.lo) }
        w.int(e.service); w.int(e.reason)
    }

    /// Reads what `encode` wrote into this assembler, which must be new.
    ///
    /// - Returns: the least `ts` of the calls in progress read (`.max` when there are
    ///   none), for the part to check against how far its classifier has gone.
    @discardableResult
    func restore(from r: inout StateReader) throws -> Int64 {
        precondition(pending.count == 0 && accounting.events == 0, "restore into a used assembler")
        var saved = Accounting()
        saved.events = try r.tally(); saved.duplicates = try r.tally(); saved.contacts = try r.tally()
        saved.incomplete = try r.tally(); saved.conflicting = try r.tally(); saved.horizon = try r.int()
        let keys = try r.count(minBytes: 8)
        // Room for as many calls again as the run goes on, so the restored table does not
        // grow at once (the whole table would be moved and its new pages zeroed).
        pending.reserveEmpty(2 * keys)
        var events: [Event] = []
        var least = Int64.max
        for _ in 0..<keys {
            let n = try r.count(minBytes: 8)
            guard n > 0 else { throw r.malformed("a call without events") }
            let call = try StateCodec.decodeCallID(from: &r)
            let centre = try r.nameID(.centre)
            var previous: Int64 = 0
            for _ in 0..<n {
                let flags = try r.u8()
                let ts = previous &+ (try r.int())
                previous = ts
                // Every event recorded counts in the horizon, the greatest ts accepted.
                guard ts <= saved.horizon else { throw r.malformed("an event of a call in progress after the part's horizon") }
                least = min(least, ts)
                let caller = flags & 0x40 != 0 ? CallerKey(hi: try r.u64(), lo: try r.u64()) : .none
                let service = try r.nameID(.service, orNone: true), reason = try r.nameID(.reason, orNone: true)
                guard let kind = EventKind(rawValue: flags & 7), let outcome = Outcome(rawValue: (flags >> 3) & 3) else {
                    throw r.malformed("an event of kind \(flags & 7)")
                }
                // An arrive names its service (docs/metrics.md, "Events"); its contact's row is
                // that service's.
                guard kind != .arrive || service >= 0 else { throw r.malformed("an arrive without its service") }
                events.append(
                    Event(
                        ts: ts, call: call, kind: kind, identified: flags & 0x80 != 0, outcome: outcome,
                        centre: centre, service: service, reason: reason, caller: caller))
            }
        }
        events.withUnsafeBufferPointer { record($0) }
        accounting = saved
        return least
    }

    /// A call's verdict; a contact names its events by index (`answer` -1 when none).
    enum Verdict {
        case contact(arrive: Int, answer: Int, terminal: Int)
        case incomplete
        case conflicting
    }

    /// The validity rules of docs/metrics.md, "Calls"; conflicting wins over incomplete.
    static func validate(_ events: UnsafeBufferPointer<CallEvent>) -> Verdict {
        var arrives = 0, answers = 0, terminals = 0
        var arrive = -1, answer = -1, terminal = -1
        for i in events.indices {
            switch events[i].kind {
            case .arrive: arrives += 1; arrive = i
            case .answer: answers += 1; answer = i
            case .transfer: break
            case .abandon, .blocked, .end: terminals += 1; terminal = i
            }
        }
        if arrives > 1 || answers > 1 || terminals > 1 { return .conflicting }
        if terminal >= 0 {
            if events[terminal].kind == .end && answer < 0 { return .conflicting }
            if events[terminal].kind != .end && answer >= 0 { return .conflicting }
        }
        // Times must not go backwards: arrive ≤ answer ≤ terminal, transfers in between.
        if arrive >= 0 && answer >= 0 && events[answer].ts < events[arrive].ts { return .conflicting }
        if answer >= 0 && terminal >= 0 && events[terminal].ts < events[answer].ts { return .conflicting }
        if arrive >= 0 && terminal >= 0 && events[terminal].ts < events[arrive].ts { return .conflicting }
        for e in events where e.kind == .transfer {
            if arrive >= 0 && e.ts < events[arrive].ts { return .conflicting }
            if terminal >= 0 && e.ts > events[terminal].ts { return .conflicting }
        }
        guard arrive >= 0, terminal >= 0 else { return .incomplete }
        return .contact(arrive: arrive, answer: answer, terminal: terminal)
    }
}

/// For the dictionaries of `preview`, hashed as the table hashes it.
extension CallAssembler.Key: Hashable {
    func hash(into hasher: inout Hasher) { hasher.combine(tableHash) }
}
