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
        var kind: EventKind
        var outcome: Outcome
        var identified: Bool

        /// Lifecycle order: by time, ties by arrive, answer, transfer, terminal.
        static func before(_ a: CallEvent, _ b: CallEvent) -> Bool {
            a.ts != b.ts ? a.ts < b.ts : a.kind.lifecycleRank < b.kind.lifecycleRank
        }
    }

    struct Key: Hashable {
        var centre: Int32
        var call: ByteString
    }

    struct Pending {
        var events: [CallEvent]
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
    private let centres: Interner
    private var pending: [Key: Pending] = [:]
    /// When each key's first call becomes final; entries made stale by an earlier event
    /// arriving are skipped when they come up.
    private var deadlines = MinHeap<Deadline>()
    public private(set) var accounting = Accounting()

    public init(callTimeout: Int64, centres: Interner) {
        self.timeout = callTimeout
        self.centres = centres
    }

    /// Calls in progress.
    public var liveKeys: Int { pending.count }

    public func record(_ e: Event) {
        let key = Key(centre: e.centre, call: ByteString(e.call))
        let ce = CallEvent(ts: e.ts, caller: e.caller, service: e.service, reason: e.reason,
                           kind: e.kind, outcome: e.outcome, identified: e.identified)
        if var p = pending[key] {
            for old in p.events where old.ts == ce.ts && old.kind == ce.kind {
                accounting.duplicates += 1
                return
            }
            p.events.append(ce)
            if ce.ts < p.earliest {
                p.earliest = ce.ts
                deadlines.push(Deadline(at: ce.ts &+ timeout, key: key))
            }
            pending[key] = p
        } else {
            pending[key] = Pending(events: [ce], earliest: ce.ts)
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

    private func cut(_ deadline: Deadline, _ emit: (Contact) -> Void) {
        guard var p = pending[deadline.key], p.earliest &+ timeout == deadline.at else { return }
        p.events.sort(by: CallEvent.before)
        var n = 0
        while n < p.events.count && p.events[n].ts <= deadline.at { n += 1 }
        close(p.events[0 ..< n], key: deadline.key, emit)
        if n == p.events.count {
            pending[deadline.key] = nil
        } else {
            p.events.removeFirst(n)
            p.earliest = p.events[0].ts
            pending[deadline.key] = p
            deadlines.push(Deadline(at: p.earliest &+ timeout, key: deadline.key))
        }
    }

    /// Validates one call's events (sorted in lifecycle order) and emits it as a contact
    /// or counts it as invalid.
    private func close(_ events: ArraySlice<CallEvent>, key: Key, _ emit: (Contact) -> Void) {
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
                t: arrive.ts, call: key.call.string, centre: key.centre, centreName: centres[key.centre],
                service: arrive.service, caller: arrive.caller, identified: arrive.identified,
                terminal: terminal.kind, handled: handled, transferred: transferred,
                transferredElsewhere: elsewhere,
                wait: (answer?.ts ?? terminal.ts) - arrive.ts,
                handle: handled ? terminal.ts - answer!.ts : 0,
                outcome: terminal.kind == .end ? terminal.outcome : .resolved,
                reason: reason))
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
