import CallSiftCore

/// Genesys Cloud analytics conversation detail records as canonical call events. The
/// mapping, field by field, is in docs/formats.md ("Genesys Cloud conversation records").
///
/// A record describes one whole conversation, so, unlike queue_log lines and contact trace
/// records, one record is one call and nothing needs holding until a later record comes:
///
/// - records arrive in the order conversations ended, so lateness is judged on each
///   record's `conversationEnd` (docs/metrics.md, "Accounting"), never on its event times;
/// - a record without `conversationEnd` is a snapshot of a conversation still going on: it
///   is skipped (`in_progress`) and moves nothing; the complete record comes later;
/// - a conversation read twice (in two exports, or two pages) counts once: the first
///   complete copy; later ones are duplicates for as long as one could still be on time
///   (the call timeout and the lateness bound past its end);
/// - a record whose first event is more than the call timeout before its end is `stale`,
///   as for contact trace records: that makes `floor(latestKey:)` a bound.
///
/// Memory: the ids of the conversations of the last call timeout + lateness.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
package final class GenesysAdapter: FormatAdapter {
    private let centre: String
    private let timeout: Int64
    private let lateness: Int64
    private let options: GenesysOptions
    @exclusivity(unchecked) private var parser: GenesysRecordParser
    @exclusivity(unchecked) private var canonical = CanonicalRecord()
    /// Whether the file being read is result pages (`{"conversations": [...], ...}`) rather
    /// than one conversation a record.
    @exclusivity(unchecked) private var pages: Bool

    /// Conversations counted, remembered until `until` to recognise a second copy.
    @exclusivity(unchecked) private var remembered: [String: Int64] = [:]
    @exclusivity(unchecked) private var forgets = LazyMinimum<String>()

    init(first: UnsafeRawBufferPointer, centre: String, settings: AnalysisSettings) throws {
        self.centre = centre
        timeout = settings.callTimeout
        lateness = settings.lateness
        options = try GenesysOptions(settings)
        parser = GenesysRecordParser(attributeKeys: options.attributeKeys)
        pages = Self.isPage(first)
    }

    private init(copying other: GenesysAdapter) {
        centre = other.centre
        timeout = other.timeout
        lateness = other.lateness
        options = other.options
        parser = other.parser
        canonical = other.canonical
        pages = other.pages
        remembered = other.remembered
        forgets = other.forgets
    }

    package func copy() -> FormatAdapter { GenesysAdapter(copying: self) }

    package var recordCutting: RecordCutting { pages ? .jsonPages(member: Self.recordsMember) : .jsonObjects }

    /// Each file is pages or records on its own (an export's pages beside a details job's
    /// records).
    package func beginFile(first: UnsafeRawBufferPointer) { pages = Self.isPage(first) }

    // MARK: - Durable state (docs/formats.md, "One export across many files")

    package var holdsAnything: Bool { !remembered.isEmpty }

    /// Nothing is held: every conversation is emitted when read.
    package func heldFloors() -> [String: Int64] { [:] }

    package func save(into w: inout AdapterStateWriter) {
        w.string(centre)
        w.bool(pages)
        let ids = remembered.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        w.count(ids.count)
        for id in ids {
            w.string(id)
            w.int(remembered[id]!)
        }
    }

    package init(restoring r: inout AdapterStateReader, settings: AnalysisSettings) throws {
        centre = try r.string()
        pages = try r.bool()
        timeout = settings.callTimeout
        lateness = settings.lateness
        options = try GenesysOptions(settings)
        parser = GenesysRecordParser(attributeKeys: options.attributeKeys)
        for _ in 0..<(try r.count(minBytes: 9)) {
            let id = try r.string()
            remember(id, until: try r.int())
        }
        guard r.isAtEnd else { throw AdapterStateError(description: "bytes after a Genesys adapter's state") }
    }

    // MARK: - FormatAdapter

    package func finish(_ out: AdapterOutput) {}

    package func floor(latestKey: Int64) -> Int64 {
        // Records still to come: end ≥ latest − lateness, events ≥ end − timeout.
        latestKey == .min ? .min : latestKey &- lateness &- timeout
    }

    package func read(_ record: UnsafeRawBufferPointer, _ out: AdapterOutput) -> AdapterVerdict {
        if let problem = parser.parse(record) { return .rejected(problem) }
        // Checked in a fixed order: ts, call, event (the direction), as for CSV.
        guard parser.field(.conversationStart).isPresent else { return .rejected(.missingTs) }
        guard let start = time(parser.field(.conversationStart)) else { return .rejected(.badTs) }
        let endSpan = parser.field(.conversationEnd)
        let conversationEnd = endSpan.isPresent ? time(endSpan) : nil
        if endSpan.isPresent && conversationEnd == nil { return .rejected(.badTs) }
        guard parser.field(.conversationId).isPresent else { return .rejected(.missingCall) }
        let direction = parser.field(.originatingDirection)
        guard direction.isPresent else { return .rejected(.missingEvent) }
        if parser.equals(direction, "outbound") { return .skipped(.outbound) }
        guard parser.equals(direction, "inbound") else { return .rejected(.badValue) }
        guard let key = conversationEnd else { return .skipped(.inProgress) }
        let customer = parser.participants.firstIndex { $0.purpose == .customer }
        guard isVoice(customer: customer) else { return .skipped(.otherMedia) }

        guard out.admit(orderKey: key) else { return .late }
        forget(below: min(key, out.releaseLimit))
        let call = parser.field(.conversationId)
        let id = parser.string(call)!
        if remembered[id] != nil { return .duplicate }

        // The events, all built (and checked) before any is handed on.
        guard let events = events(start: start, end: key, customer: customer, out.builder) else {
            return .rejected(.badTs)
        }
        switch events {
        case .rejected(let reason): return .rejected(reason)
        case .built(let list):
            if list.map(\.ts).min()! < key &- timeout { return .skipped(.stale) }
            remember(id, until: key &+ timeout &+ lateness)
            for (i, e) in list.enumerated() { out.emit(e, extraLine: i > 0) }
            return .taken
        }
    }

    // MARK: - One conversation

    private enum Events {
        case built([Event])
        case rejected(RejectReason)
    }

    /// The conversation's events: arrive (the first queue entry, or the start), a transfer
    /// per further queue, the first agent interaction as the answer, and the end of the
    /// customer's last segment as the terminal event. nil when a segment's time is not one.
    private func events(start: Int64, end conversationEnd: Int64, customer: Int?, _ builder: EventBuilder) -> Events? {
        // The parser taken once: read through the stored property, every use below (and in
        // the nested `add`, which captures `self`) copies the struct, retaining its arrays.
        let parser = self.parser
        // Each queue (`acd` participant) at its first segment's start, in time order.
        var queues: [(at: Int64, index: Int)] = []
        var answer: Int64?
        var customerEnd: Int64?
        // The arrays and the buffer taken once too.
        let participants = parser.participants, sessions = parser.sessions, segments = parser.segments
        let timesRead = parser.buffer.withUnsafeBytes { buffer -> Bool in
            func time(_ s: GenesysRecordParser.Span) -> Int64? {
                Timestamp.parse(UnsafeRawBufferPointer(rebasing: buffer[Int(s.start)..<Int(s.end)]))
            }
            for (i, p) in participants.enumerated() {
                let isQueue = p.purpose == .acd, isAgent = p.purpose == .agent
                guard isQueue || isAgent || i == customer else { continue }
                var first: Int64?
                for s in p.sessions {
                    for g in sessions[s].segments {
                        let segment = segments[g]
                        if segment.start.isPresent {
                            guard let t = time(segment.start) else { return false }
                            first = min(first ?? t, t)
                            if isAgent && segment.isInteract { answer = min(answer ?? t, t) }
                        }
                        if i == customer && segment.end.isPresent {
                            guard let t = time(segment.end) else { return false }
                            customerEnd = max(customerEnd ?? t, t)
                        }
                    }
                }
                if isQueue, let first { queues.append((first, i)) }
            }
            return true
        }
        guard timesRead else { return nil }
        queues.sort { $0.at != $1.at ? $0.at < $1.at : $0.index < $1.index }

        let customerParticipant = customer.map { parser.participants[$0] }
        func attribute(_ k: GenesysOptions.AttributeKey) -> GenesysRecordParser.Span {
            customerParticipant?.attribute(k) ?? .init()
        }
        let terminal: EventKind = answer != nil ? .end : queues.isEmpty ? .blocked : .abandon
        let end = customerEnd ?? conversationEnd

        var list: [Event] = []
        let call = parser.field(.conversationId)
        var failure: RejectReason?
        func add(_ ts: Int64, _ kind: EventKind, caller: [UInt8]? = nil, service: [UInt8]? = nil) {
            guard failure == nil else { return }
            let built = parser.with(call) { callBytes in
                centreBytes.withUnsafeBytes { centreBytes in
                    withOptional(caller) { callerBytes in
                        withOptional(service) { serviceBytes in
                            parser.with(kind == .end ? attribute(.outcome) : .init()) { outcome in
                                parser.with(kind == terminal ? attribute(.reason) : .init()) { reason in
                                    canonical.build(
                                        builder, ts: ts, centre: centreBytes, call: callBytes!, kind: kind,
                                        caller: callerBytes, service: serviceBytes, outcome: outcome, reason: reason)
                                }
                            }
                        }
                    }
                }
            }
            switch built {
            case .event(let e): list.append(e)
            case .rejected(let reason): failure = reason
            }
        }
        let caller = customer.map(callerId) ?? []
        if let arrive = queues.first {
            add(arrive.at, .arrive, caller: caller, service: queueName(arrive.index))
            for q in queues.dropFirst() { add(q.at, .transfer, service: queueName(q.index)) }
        } else {
            let service = parser.with(attribute(.service)) { $0.map(Array.init) } ?? Array(GenesysAdapter.neverQueued.utf8)
            add(start, .arrive, caller: caller, service: service)
        }
        if let answer { add(answer, .answer) }
        add(end, terminal)
        if let failure { return .rejected(failure) }
        return .built(list)
    }

    /// The service of a call that never reached a queue and names none in its attributes:
    /// the same as for contact trace records' callers who never got through.
    static let neverQueued = "(ivr)"

    private lazy var centreBytes = Array(centre.utf8)

    /// A queue's name: the `acd` participant's `participantName`, else its `queueId`'s name
    /// from `--queue-names`, else the `queueId` itself; nil (rejected `missing_service`)
    /// when it has neither.
    private func queueName(_ participant: Int) -> [UInt8]? {
        let p = parser.participants[participant]
        if let name = parser.with(p.name, { $0.map(Array.init) }) { return name }
        for s in p.sessions {
            for g in parser.sessions[s].segments where parser.segments[g].queueId.isPresent {
                let id = parser.string(parser.segments[g].queueId)!
                return Array((options.queueNames[id] ?? id).utf8)
            }
        }
        return nil
    }

    /// The customer's number: the first `ani` of its sessions, `tel:+44...` as `+44...`, a
    /// `sip:` URI as its user part; empty (unidentified) when there is none.
    private func callerId(_ customer: Int) -> [UInt8] {
        for s in parser.participants[customer].sessions where parser.sessions[s].ani.isPresent {
            return parser.with(parser.sessions[s].ani) { Self.number(fromAddress: $0!) }
        }
        return []
    }

    /// `tel:N` → `N`; `sip:USER@HOST` (or `sips:`) → `USER`; anything else as it is.
    static func number(fromAddress a: UnsafeRawBufferPointer) -> [UInt8] {
        var bytes = Array(a)
        func drop(_ scheme: String) -> Bool {
            let s = Array(scheme.utf8)
            guard bytes.count >= s.count, bytes[0..<s.count].map({ $0 | 0x20 }) == s else { return false }
            bytes.removeFirst(s.count)
            return true
        }
        if drop("tel:") { return bytes }
        if drop("sip:") || drop("sips:") {
            if let at = bytes.firstIndex(of: UInt8(ascii: "@")) { bytes.removeSubrange(at...) }
            if let semi = bytes.firstIndex(of: UInt8(ascii: ";")) { bytes.removeSubrange(semi...) }
        }
        return bytes
    }

    /// Whether the conversation is a voice call: the customer's first session's media
    /// (or, without a customer, the first session's) is `voice`.
    private func isVoice(customer: Int?) -> Bool {
        let session = customer.flatMap { parser.participants[$0].sessions.first } ?? parser.sessions.indices.first
        guard let session else { return false }
        return parser.sessions[session].isVoice
    }

    private func time(_ s: GenesysRecordParser.Span) -> Int64? { parser.with(s) { $0.flatMap(Timestamp.parse) } }

    private func remember(_ id: String, until: Int64) {
        remembered[id] = until
        forgets.push(until, id)
    }

    private func forget(below limit: Int64) {
        while let top = forgets.pop(below: limit) {
            if remembered[top.tag] == top.at { remembered[top.tag] = nil }
        }
    }
}

private func withOptional<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
