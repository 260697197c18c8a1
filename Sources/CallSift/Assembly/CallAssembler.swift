import CallSiftConcurrency

/// Assembles events into calls, keyed by (centre, call), and validates them
/// (SPEC.md sections 1 and 2).
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
/// Storage: a `ShardTable` from key to (first event, count, earliest ts), and the events
/// themselves in a pool of fixed-size records linked by index, recycled through a free
/// list: nothing is allocated per call or per event once the pool has grown.
///
/// The stage protocol: `record` each event, `advance(to:)` with each new watermark,
/// `finish` at end of input; completed contacts go to `emit` in no particular order.
public final class CallAssembler {
    public struct Accounting: Sendable, Equatable {
        public var events: Int64 = 0
        public var duplicates: Int64 = 0
        public var contacts: Int64 = 0
        public var incomplete: Int64 = 0
        public var conflicting: Int64 = 0
        /// Greatest `ts` among accepted events; `Int64.min` when there are none.
        public var horizon: Int64 = .min

        public mutating func merge(_ o: Accounting) {
            events += o.events; duplicates += o.duplicates; contacts += o.contacts
            incomplete += o.incomplete; conflicting += o.conflicting
            horizon = max(horizon, o.horizon)
        }
    }

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
        var tableHash: UInt64 { mix64(call.hash64 ^ UInt64(UInt32(bitPattern: centre))) }
    }

    struct Pending {
        /// First event in the pool.
        var head: Int32
        /// `ts` of the earliest pending event.
        var earliest: Int64
    }

    struct Deadline: Comparable {
        var at: Int64
        var key: Key
        static func < (a: Deadline, b: Deadline) -> Bool { a.at < b.at }
        static func == (a: Deadline, b: Deadline) -> Bool { a.at == b.at }
    }

    private let timeout: Int64
    private let pending = ShardTable<Key, Pending>(minimumCapacity: 1 << 12)
    private var pool: [CallEvent] = []
    private var freeHead: Int32 = -1
    /// When each key's first call becomes final; entries made stale by an earlier event
    /// arriving are skipped when they come up.
    private var deadlines = MinHeap<Deadline>()
    private var scratch: [CallEvent] = []
    public private(set) var accounting = Accounting()

    public init(callTimeout: Int64) {
        self.timeout = callTimeout
        pool.reserveCapacity(1 << 14)
    }

    /// Calls in progress.
    public var liveKeys: Int { pending.count }

    public func record(_ e: Event) {
        let key = Key(call: e.call, centre: e.centre)
        let ce = CallEvent(ts: e.ts, caller: e.caller, service: e.service, reason: e.reason, next: -1,
                           kind: e.kind, outcome: e.outcome, identified: e.identified)
        if let slot = pending.find(key) {
            var i = pending[slot].head
            while i >= 0 {
                let old = pool[Int(i)]
                if old.ts == ce.ts && old.kind == ce.kind {
                    accounting.duplicates += 1
                    return
                }
                i = old.next
            }
            let n = allocate(ce, next: pending[slot].head)
            pending[slot].head = n
            if ce.ts < pending[slot].earliest {
                pending[slot].earliest = ce.ts
                deadlines.push(Deadline(at: ce.ts &+ timeout, key: key))
            }
        } else {
            pending.insert(key, Pending(head: allocate(ce, next: -1), earliest: ce.ts))
            deadlines.push(Deadline(at: ce.ts &+ timeout, key: key))
        }
        accounting.events += 1
        if e.ts > accounting.horizon { accounting.horizon = e.ts }
    }

    /// Finalises every call whose earliest event is more than the timeout below
    /// `watermark`.
    public func advance(to watermark: Int64, emit: (Contact) -> Void) {
        while let top = deadlines.min, top.at < watermark {
            deadlines.pop()
            cut(top, emit)
        }
    }

    /// Finalises everything: end of input.
    public func finish(emit: (Contact) -> Void) {
        while let top = deadlines.pop() { cut(top, emit) }
    }

    private func allocate(_ e: CallEvent, next: Int32) -> Int32 {
        var e = e
        e.next = next
        if freeHead >= 0 {
            let i = freeHead
            freeHead = pool[Int(i)].next
            pool[Int(i)] = e
            return i
        }
        pool.append(e)
        return Int32(pool.count - 1)
    }

    private func release(_ i: Int32) {
        pool[Int(i)].next = freeHead
        freeHead = i
    }

    private func cut(_ deadline: Deadline, _ emit: (Contact) -> Void) {
        guard let slot = pending.find(deadline.key), pending[slot].earliest &+ timeout == deadline.at else { return }
        scratch.removeAll(keepingCapacity: true)
        var i = pending[slot].head
        while i >= 0 {
            scratch.append(pool[Int(i)])
            let next = pool[Int(i)].next
            release(i)
            i = next
        }
        scratch.sort(by: CallEvent.before)
        var n = 0
        while n < scratch.count && scratch[n].ts <= deadline.at { n += 1 }
        if n == scratch.count {
            pending.remove(at: slot)
        } else {
            // Events past the timeout start the key's next call.
            var head: Int32 = -1
            for j in stride(from: scratch.count - 1, through: n, by: -1) { head = allocate(scratch[j], next: head) }
            pending[slot] = Pending(head: head, earliest: scratch[n].ts)
            deadlines.push(Deadline(at: scratch[n].ts &+ timeout, key: deadline.key))
        }
        close(n, key: deadline.key, emit)
    }

    /// Validates the call in `scratch[..<n]` (sorted in lifecycle order) and emits it as a
    /// contact or counts it as invalid.
    private func close(_ n: Int, key: Key, _ emit: (Contact) -> Void) {
        let events = scratch[0 ..< n]
        switch Self.validate(events) {
        case .incomplete: accounting.incomplete += 1
        case .conflicting: accounting.conflicting += 1
        case .contact(let arrive, let answer, let terminal):
            accounting.contacts += 1
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
            let handled = answer != nil
            emit(Contact(
                t: arrive.ts, call: key.call, centre: key.centre, service: arrive.service,
                caller: arrive.caller, reason: reason,
                wait: (answer?.ts ?? terminal.ts) - arrive.ts,
                handle: handled ? terminal.ts - answer!.ts : 0,
                terminal: terminal.kind,
                outcome: terminal.kind == .end ? terminal.outcome : .resolved,
                identified: arrive.identified, handled: handled, transferred: transferred,
                transferredElsewhere: elsewhere))
        }
    }

    enum Verdict {
        case contact(arrive: CallEvent, answer: CallEvent?, terminal: CallEvent)
        case incomplete
        case conflicting
    }

    /// SPEC.md section 1's validity rules; conflicting wins over incomplete.
    static func validate(_ events: ArraySlice<CallEvent>) -> Verdict {
        var arrives = 0, answers = 0, terminals = 0
        var arrive: CallEvent?, answer: CallEvent?, terminal: CallEvent?
        for e in events {
            switch e.kind {
            case .arrive: arrives += 1; arrive = e
            case .answer: answers += 1; answer = e
            case .transfer: break
            case .abandon, .blocked, .end: terminals += 1; terminal = e
            }
        }
        if arrives > 1 || answers > 1 || terminals > 1 { return .conflicting }
        if let terminal {
            if terminal.kind == .end && answer == nil { return .conflicting }
            if terminal.kind != .end && answer != nil { return .conflicting }
        }
        // Times must not go backwards: arrive ≤ answer ≤ terminal, transfers in between.
        if let arrive, let answer, answer.ts < arrive.ts { return .conflicting }
        if let answer, let terminal, terminal.ts < answer.ts { return .conflicting }
        if let arrive, let terminal, terminal.ts < arrive.ts { return .conflicting }
        for e in events where e.kind == .transfer {
            if let arrive, e.ts < arrive.ts { return .conflicting }
            if let terminal, e.ts > terminal.ts { return .conflicting }
        }
        guard let arrive, let terminal else { return .incomplete }
        return .contact(arrive: arrive, answer: answer, terminal: terminal)
    }
}
