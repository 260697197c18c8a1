import CallSiftCore
/// Amazon Connect contact trace records (CTRs) as canonical call events. The mapping,
/// field by field, is in docs/formats.md.
///
/// A CTR describes one finished contact, so records arrive in completion order, and
/// delivery is at least once (a contact may be delivered again, updated). A transfer
/// makes a new contact linked to its chain by `InitialContactId` (`PreviousContactId`,
/// `NextContactId`). So records are *held*, per chain, and a chain is emitted as one call
/// only when no more of it can come:
///
/// - lateness is judged on each record's order key, the greater of `LastUpdateTimestamp`
///   and `DisconnectTimestamp` (docs/metrics.md, "Accounting"), never on its event times;
/// - per `ContactId` the delivery with the greatest `LastUpdateTimestamp` wins; the others
///   are duplicates;
/// - a chain is emitted once the input's latest order key is more than the lateness bound
///   past the chain's latest key (a newer delivery would be late by then), or, while it
///   *waits* (a leg's `NextContactId` has not arrived, or a leg is a snapshot of a contact
///   still in progress, without `DisconnectTimestamp`), more than call timeout + lateness
///   past the chain's first event (its call is closed by then, docs/metrics.md, "Calls");
/// - an inbound contact that never reached a queue or an agent and was ended by its flow
///   or by a telephony failure (`DisconnectReason`) is a caller who did not get through:
///   a `blocked` call under the service `IVRBlocked.service`;
/// - a record whose first event is more than the call timeout before its order key is
///   `stale` (an update long after the contact, or a contact longer than a call can be):
///   its events could not join their call. This is what makes `floor(latestKey:)` a bound:
///   any record still to come has a key of at least latest − lateness, and events no
///   earlier than its key − call timeout.
///
/// Memory: the chains of the last call timeout + lateness, and the ids of contacts emitted
/// or skipped within that time (to recognise re-deliveries and skipped chains' legs).
/// Chains, their legs and the contacts remembered are plain structs in slabs whose places
/// are reused once freed, found by id as a `CallID` (the bytes held inline; an id over 40
/// bytes by its index in the adapter's own `LongCallIDs`) through `IDIndex`es; centre and
/// queue names are interned. So a record's fields are read where they lie, no `String` is
/// made per record, and a chain is changed where it lies, never copied out of a dictionary
/// and written back (which had copied its legs each time).
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
package final class ContactTraceAdapter: FormatAdapter {
    typealias Field = ContactTraceRecordParser.Field

    /// The most contacts one chain may have; further legs are rejected (`bad_value`).
    static let maxLegs = 64

    private let centreOverride: String?
    private let timeout: Int64
    private let lateness: Int64
    @exclusivity(unchecked) private var parser = ContactTraceRecordParser()
    @exclusivity(unchecked) private var canonical = CanonicalRecord()
    /// The date of the last timestamp read: a record's times, and the next record's,
    /// nearly always share it (`Timestamp.parse(_:days:)`).
    @exclusivity(unchecked) private var days = Timestamp.DayCache()

    private struct Leg {
        var contactId: CallID
        /// `NextContactId`, when `hasNext`.
        var next: CallID
        var hasNext: Bool
        var isHead: Bool
        var lastUpdate: Int64
        var key: Int64
        /// `InitiationTimestamp`.
        var initiation: Int64
        /// Queue entry (`Queue.EnqueueTimestamp`, else `InitiationTimestamp`) when queued.
        var visit: Int64?
        /// `Queue.Name`, by its index in `names`; -1 when not queued.
        var queue: Int32
        /// The leg's arrival as it would be the call's, built (and its caller
        /// pseudonymised) when read; used for the chain's first queue visit.
        var arrive: Event?
        var connected: Int64?
        /// Absent on a snapshot of a contact still in progress.
        var disconnect: Int64?
        /// Earliest time the record mentions.
        var earliest: Int64
        /// For an inbound contact that its flow or the network ended before it reached a
        /// queue or an agent: its arrival as a blocked call's (`IVRBlocked`), built when read.
        var blockedArrive: Event?
        /// The next leg of its chain, by place in `legs`; -1 after the last.
        var after: Int32 = -1
    }

    private struct Chain {
        var key: CallID
        /// Unique to this chain while it is held; 0 once it is emitted or dropped.
        var serial: Int
        /// By index in `names`.
        var centre: Int32
        /// Its legs in the order they came: a list through `Leg.after`, by place in `legs`.
        var firstLeg: Int32 = -1
        var lastLeg: Int32 = -1
        var legCount = 0
        var earliest = Int64.max
        var lastKey = Int64.min
        /// Set when its first contact turned out to be skipped traffic (outbound, ...):
        /// by index in `skipKinds`, -1 when not.
        var skip: Int8 = -1
        var releaseAt = Int64.max
    }

    /// A contact already emitted or skipped, remembered until `until`.
    private struct Memory {
        var id: CallID
        /// Unique to this contact while it is remembered; 0 once forgotten.
        var serial: Int
        /// What it was skipped as, by index in `skipKinds`; -1 when emitted.
        var kind: Int8
        var until: Int64
    }

    /// A place in a slab and the serial of what it held when the tag was made: an entry
    /// of the queues below is stale once the serial at that place differs.
    private struct Tag {
        var place: Int32
        var serial: Int
    }

    /// The held chains, in places reused once a chain goes (`freeChains`), found by key
    /// through `chainPlace`.
    @exclusivity(unchecked) private var chains: [Chain] = []
    @exclusivity(unchecked) private var freeChains: [Int32] = []
    @exclusivity(unchecked) private var chainPlace = IDIndex()
    /// The held chains' legs, in places reused likewise.
    @exclusivity(unchecked) private var legs: [Leg] = []
    @exclusivity(unchecked) private var freeLegs: [Int32] = []
    /// Held contact → its chain's place.
    @exclusivity(unchecked) private var chainOf = IDIndex()
    /// Contacts already emitted or skipped, found by id through `memoryOf`.
    @exclusivity(unchecked) private var memories: [Memory] = []
    @exclusivity(unchecked) private var freeMemories: [Int32] = []
    @exclusivity(unchecked) private var memoryOf = IDIndex()
    /// Contact ids over `CallID.inlineCapacity` bytes. Only added to: Connect's ids are
    /// UUIDs (36 bytes), and a restored adapter starts a new one.
    private let longIDs: LongCallIDs
    /// The centre and queue names seen, each once, by index; and each one's index by its bytes.
    @exclusivity(unchecked) private var names: [String] = []
    @exclusivity(unchecked) private var nameIndex = IDIndex()
    /// `--centre`, by index in `names`.
    @exclusivity(unchecked) private var overriddenCentre: Int32?
    /// The skip kinds chains and contacts are held with, each once.
    @exclusivity(unchecked) private var skipKinds: [SkipKind] = []
    /// The last serial given to a chain or a memory.
    @exclusivity(unchecked) private var serial = 0
    /// When each chain is due. Tagged by the chain's key, not its place: an entry left by
    /// an earlier chain of the same key still releases a later one due at that instant, as
    /// it always has, so chains due together come out in the same order.
    @exclusivity(unchecked) private var releases = LazyMinimum<CallID>()
    @exclusivity(unchecked) private var earliestHeld = LazyMinimum<Tag>()
    @exclusivity(unchecked) private var forgets = LazyMinimum<Tag>()
    /// Legs being ordered for emission (kept to reuse its storage).
    @exclusivity(unchecked) private var order: [Int32] = []

    package init(centre: String?, settings: AnalysisSettings) {
        centreOverride = centre
        timeout = settings.callTimeout
        lateness = settings.lateness
        longIDs = LongCallIDs()
        overriddenCentre = centre.map(name)
    }

    /// A copy of `other`, value by value (its state is all values).
    private init(copying other: ContactTraceAdapter) {
        centreOverride = other.centreOverride
        timeout = other.timeout
        lateness = other.lateness
        parser = other.parser
        canonical = other.canonical
        days = other.days
        chains = other.chains
        freeChains = other.freeChains
        chainPlace = other.chainPlace
        legs = other.legs
        freeLegs = other.freeLegs
        chainOf = other.chainOf
        memories = other.memories
        freeMemories = other.freeMemories
        memoryOf = other.memoryOf
        // Only added to, so the copy may share it.
        longIDs = other.longIDs
        names = other.names
        nameIndex = other.nameIndex
        overriddenCentre = other.overriddenCentre
        skipKinds = other.skipKinds
        serial = other.serial
        releases = other.releases
        earliestHeld = other.earliestHeld
        forgets = other.forgets
        lastARN = other.lastARN
        lastARNCentre = other.lastARNCentre
    }

    package func copy() -> FormatAdapter { ContactTraceAdapter(copying: self) }

    package var recordCutting: RecordCutting { .jsonObjects }
    package func beginFile(first: UnsafeRawBufferPointer) {}

    /// `--format auto` (`FormatRegistry`): a JSON array, or an object with a contact trace
    /// record key (`ContactId`, `AWSContactTraceRecordFormatVersion`, `InitiationMethod`)
    /// in the first chunk.
    static let recognises: @Sendable (UnsafeRawBufferPointer) -> Bool = { rest in
        if rest[0] == UInt8(ascii: "[") { return true }
        guard rest[0] == UInt8(ascii: "{") else { return false }
        return ["\"ContactId\"", "\"AWSContactTraceRecordFormatVersion\"", "\"InitiationMethod\""].contains {
            FormatRegistry.contains(rest, $0)
        }
    }

    // MARK: - Durable state (docs/formats.md, "One export across many files")

    package var holdsAnything: Bool { !chainPlace.isEmpty || !memoryOf.isEmpty }

    package func heldFloors() -> [String: Int64] {
        var floors: [String: Int64] = [:]
        for c in chains where c.serial != 0 {
            let centre = names[Int(c.centre)]
            floors[centre] = min(floors[centre] ?? .max, c.earliest)
        }
        return floors
    }

    /// The chains (each leg as read), and the contacts remembered; the queues of release
    /// and forget times follow from them, and are made again by `init(restoring:)`.
    package func save(into w: inout AdapterStateWriter) {
        w.optionalString(centreOverride)
        // In a fixed order, so that the same state is written the same way.
        let held = chains.indices.filter { chains[$0].serial != 0 }
            .sorted { CallID.precedes(chains[$0].key, chains[$1].key, long: longIDs) }
        w.count(held.count)
        for p in held {
            let c = chains[p]
            w.string(string(c.key))
            w.string(names[Int(c.centre)])
            w.optionalString(c.skip >= 0 ? skipKinds[Int(c.skip)].rawValue : nil)
            w.count(c.legCount)
            var l = Int(c.firstLeg)
            while l >= 0 {
                let leg = legs[l]
                w.string(string(leg.contactId))
                w.optionalString(leg.hasNext ? string(leg.next) : nil)
                w.bool(leg.isHead)
                w.int(leg.lastUpdate)
                w.int(leg.key)
                w.int(leg.initiation)
                w.optionalInt(leg.visit)
                w.optionalString(leg.queue >= 0 ? names[Int(leg.queue)] : nil)
                w.optionalEvent(leg.arrive)
                w.optionalInt(leg.connected)
                w.optionalInt(leg.disconnect)
                w.int(leg.earliest)
                w.optionalEvent(leg.blockedArrive)
                l = Int(leg.after)
            }
        }
        let remembered = memories.indices.filter { memories[$0].serial != 0 }
            .sorted { CallID.precedes(memories[$0].id, memories[$1].id, long: longIDs) }
        w.count(remembered.count)
        for p in remembered {
            let m = memories[p]
            w.string(string(m.id))
            w.optionalString(m.kind >= 0 ? skipKinds[Int(m.kind)].rawValue : nil)
            w.int(m.until)
        }
    }

    /// The adapter `save` wrote, for a run under `settings`.
    package init(restoring r: inout AdapterStateReader, settings: AnalysisSettings) throws(AdapterStateError) {
        centreOverride = try r.optionalString()
        timeout = settings.callTimeout
        lateness = settings.lateness
        longIDs = LongCallIDs()
        overriddenCentre = centreOverride.map(name)
        func kind(_ name: String?) throws(AdapterStateError) -> Int8 {
            guard let name else { return -1 }
            guard let k = FormatRegistry.skipKind(named: name) else { throw AdapterStateError(description: "a skip kind this callsift does not know: \(name)") }
            return skipCode(k)
        }
        for _ in 0..<(try r.count(minBytes: 16)) {
            let key = callID(try r.string())
            // `save` writes each chain once, and each contact in one chain.
            guard chainPlace[key] == nil else { throw AdapterStateError(description: "a contact trace chain saved twice") }
            let centre = name(try r.string())
            let skip = try kind(try r.optionalString())
            let count = try r.count(minBytes: 40)
            guard count > 0, count <= Self.maxLegs else { throw AdapterStateError(description: "a held chain of \(count) contacts") }
            let p = openChain(key, centre: centre)
            chains[p].skip = skip
            for _ in 0..<count {
                let contactId = callID(try r.string())
                let next = try r.optionalString().map(callID)
                let isHead = try r.bool(), lastUpdate = try r.int(), key = try r.int(), initiation = try r.int()
                let visit = try r.optionalInt()
                let queue = try r.optionalString().map(name)
                let leg = Leg(
                    contactId: contactId, next: next ?? CallID(), hasNext: next != nil, isHead: isHead, lastUpdate: lastUpdate,
                    key: key, initiation: initiation, visit: visit, queue: queue ?? -1, arrive: try r.optionalEvent(),
                    connected: try r.optionalInt(), disconnect: try r.optionalInt(), earliest: try r.int(),
                    blockedArrive: try r.optionalEvent())
                guard chainOf[contactId] == nil else { throw AdapterStateError(description: "a contact held in two chains") }
                append(leg, to: p)
                chainOf[contactId] = Int32(p)
            }
            recompute(p)
        }
        for _ in 0..<(try r.count(minBytes: 10)) {
            let id = callID(try r.string())
            let k = try kind(try r.optionalString())
            remember(id, kind: k, until: try r.int())
        }
        guard r.isAtEnd else { throw AdapterStateError(description: "bytes after a contact trace adapter's state") }
    }

    // MARK: - FormatAdapter

    package func read(_ record: UnsafeRawBufferPointer, _ out: AdapterOutput) -> AdapterVerdict {
        if let problem = parser.parse(record) { return .rejected(problem) }
        return parser.withFields { read($0, out) }
    }

    /// The record just parsed, whose fields are `f`.
    private func read(_ f: ContactTraceRecordParser.Fields, _ out: AdapterOutput) -> AdapterVerdict {
        // Checked in a fixed order: ts, centre, call, event (how the contact started).
        guard f.isPresent(.initiationTimestamp) else { return .rejected(.missingTs) }
        var badTime = false
        let initiation = time(f[.initiationTimestamp], &badTime), enqueue = time(f[.enqueueTimestamp], &badTime)
        let connected = time(f[.connectedToAgentTimestamp], &badTime), disconnect = time(f[.disconnectTimestamp], &badTime)
        let lastUpdate = time(f[.lastUpdateTimestamp], &badTime)
        guard !badTime, let initiation else { return .rejected(.badTs) }
        guard let key = lastUpdate.map({ max($0, disconnect ?? $0) }) ?? disconnect else { return .rejected(.missingTs) }
        guard let centre = overriddenCentre ?? instanceCentre(f[.instanceARN]) else { return .rejected(.missingCentre) }
        guard let contactId = f[.contactId].map(callID) else { return .rejected(.missingCall) }
        guard let method = f[.initiationMethod] else { return .rejected(.missingEvent) }
        let role = Self.role(method: method, channel: f[.channel])

        guard out.admit(orderKey: key) else { return .late }
        release(before: min(key, out.releaseLimit), out)

        // At least once: the greatest LastUpdateTimestamp per ContactId wins.
        let update = lastUpdate ?? key
        let memory = memoryOf[contactId]
        if let m = memory, memories[Int(m)].kind < 0 { return .duplicate }
        var replacing: (chain: Int, leg: Int)?
        if let p = chainOf[contactId], let l = leg(contactId, of: Int(p)) {
            if update <= legs[l].lastUpdate { return .duplicate }
            replacing = (Int(p), l)
        }

        if case .skip(let kind) = role {
            if let r = replacing {
                // An earlier delivery was taken as inbound: now it is neither.
                out.countDuplicate()
                removeLeg(r.leg, of: r.chain)
            }
            let code = skipCode(kind)
            remember(contactId, kind: code, until: key &+ timeout &+ lateness)
            if let p = chainPlace[contactId] { chains[Int(p)].skip = code }
            return .skipped(kind)
        }

        let earliest = min(initiation, enqueue ?? .max, connected ?? .max, disconnect ?? .max)
        if earliest < key &- timeout { return .skipped(.stale) }

        let chainKey: CallID
        if let r = replacing {
            chainKey = chains[r.chain].key
        } else if let initial = f[.initialContactId].map(callID) {
            chainKey = initial
        } else if let previous = f[.previousContactId].map(callID) {
            chainKey = chainOf[previous].map { chains[Int($0)].key } ?? previous
        } else {
            chainKey = contactId
        }
        // The contact's own memory, looked up above, when it is its chain's key.
        if let m = chainKey == contactId ? memory : memoryOf[chainKey] {
            let remembered = memories[Int(m)]
            if remembered.kind >= 0 {
                remember(contactId, kind: remembered.kind, until: remembered.until)
                return .skipped(skipKinds[Int(remembered.kind)])
            }
            if chainKey != contactId { return .late }  // its call was emitted already
        }

        let queue = f[.queueName].map(name)
        let next = f[.nextContactId].map(callID)
        var leg = Leg(
            contactId: contactId, next: next ?? CallID(), hasNext: next != nil, isHead: role == .head,
            lastUpdate: update, key: key, initiation: initiation, visit: nil, queue: queue ?? -1,
            arrive: nil, connected: connected, disconnect: disconnect, earliest: earliest, blockedArrive: nil)
        if role == .head, queue == nil, connected == nil, disconnect != nil,
            f[.disconnectReason].map(IVRBlocked.isBlocking) ?? false
        {
            var service = IVRBlocked.service
            let built = service.withUTF8 {
                arrival(ts: initiation, centre: centre, call: chainKey, caller: f[.customerAddress], service: UnsafeRawBufferPointer($0), out)
            }
            switch built {
            case .event(let e): leg.blockedArrive = e
            case .rejected(let reason): return .rejected(reason)
            }
        }
        if let queue {
            let visit = enqueue ?? initiation
            leg.visit = visit
            switch withName(queue, { arrival(ts: visit, centre: centre, call: chainKey, caller: f[.customerAddress], service: $0, out) }) {
            case .event(let e): leg.arrive = e
            case .rejected(let reason): return .rejected(reason)
            }
        }

        let p: Int
        if let r = replacing {
            out.countDuplicate()
            leg.after = legs[r.leg].after
            legs[r.leg] = leg
            p = r.chain
        } else {
            if let held = chainPlace[chainKey] {
                p = Int(held)
                guard chains[p].legCount < Self.maxLegs else { return .rejected(.badValue) }
            } else {
                p = openChain(chainKey, centre: centre)
            }
            append(leg, to: p)
            chainOf[contactId] = Int32(p)
        }
        recompute(p)
        return .taken
    }

    package func finish(_ out: AdapterOutput) {
        let held = chains.indices.filter { chains[$0].serial != 0 }.sorted { a, b in
            let ra = chains[a].releaseAt, rb = chains[b].releaseAt
            return ra != rb ? ra < rb : CallID.precedes(chains[a].key, chains[b].key, long: longIDs)
        }
        for p in held { emit(p, out) }
    }

    package func floor(latestKey: Int64) -> Int64 {
        let held =
            earliestHeld.min { at, tag in
                let c = self.chains[Int(tag.place)]
                return c.serial == tag.serial && c.earliest == at
            }?.at ?? .max
        // Records still to come: key ≥ latest − lateness, events ≥ key − timeout.
        let coming = latestKey == .min ? Int64.min : latestKey &- lateness &- timeout
        return min(held, coming)
    }

    // MARK: - Records

    /// A time field's value: nil when absent; nil, with `bad` set, when it is no timestamp.
    @inline(__always)
    private func time(_ bytes: UnsafeRawBufferPointer?, _ bad: inout Bool) -> Int64? {
        guard let bytes else { return nil }
        guard let t = Timestamp.parse(bytes, days: &days) else {
            bad = true
            return nil
        }
        return t
    }

    /// The arrival of the record being read's contact as its chain's call would have it:
    /// `caller` is the record's, an empty one when it names none.
    private func arrival(
        ts: Int64, centre: Int32, call: CallID, caller: UnsafeRawBufferPointer?, service: UnsafeRawBufferPointer,
        _ out: AdapterOutput
    ) -> EventBuilder.Built {
        call.withBytes(long: longIDs) { callBytes in
            withName(centre) { centreBytes in
                canonical.build(
                    out.builder, ts: ts, centre: centreBytes, call: callBytes, kind: .arrive,
                    caller: caller ?? UnsafeRawBufferPointer(start: nil, count: 0), service: service)
            }
        }
    }

    private enum Role: Equatable { case head, leg, skip(SkipKind) }

    private static func role(method: UnsafeRawBufferPointer, channel: UnsafeRawBufferPointer?) -> Role {
        func is_(_ s: StaticString) -> Bool { Self.equal(method, s) }
        if is_("INBOUND") || is_("WEBRTC_API") { return .head }
        if is_("TRANSFER") || is_("QUEUE_TRANSFER") { return .leg }
        if is_("API") { return channel.map { Self.equal($0, "CHAT") } == true ? .head : .skip(.api) }
        if is_("OUTBOUND") || is_("EXTERNAL_OUTBOUND") { return .skip(.outbound) }
        if is_("CALLBACK") { return .skip(.callback) }
        if is_("MONITOR") { return .skip(.monitor) }
        if is_("DISCONNECT") || is_("AGENT_REPLY") || is_("FLOW") { return .skip(.system) }
        return .skip(.otherInitiation)
    }

    /// `bytes` (not empty) are `word`'s.
    @inline(__always)
    private static func equal(_ bytes: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        bytes.count == word.utf8CodeUnitCount && bytesEqual(bytes.baseAddress!, UnsafeRawPointer(word.utf8Start), bytes.count)
    }

    /// The last `InstanceARN` read, and its centre (nil when it names no instance).
    @exclusivity(unchecked) private var lastARN: [UInt8] = []
    @exclusivity(unchecked) private var lastARNCentre: Int32?

    /// `arn:aws:connect:region:account:instance/ID[/...]` → the centre `ID` (nil when there
    /// is none). Records of one instance repeat the same ARN, so the last answer is kept.
    private func instanceCentre(_ arn: UnsafeRawBufferPointer?) -> Int32? {
        guard let arn else { return nil }
        if lastARN.count == arn.count, lastARN.withUnsafeBytes({ bytesEqual($0.baseAddress!, arn.baseAddress!, arn.count) }) {
            return lastARNCentre
        }
        let marker = Array("instance/".utf8)
        var centre: Int32?
        var i = 0
        while i + marker.count <= arn.count {
            if arn[i] == marker[0] && marker.elementsEqual(arn[i..<i + marker.count]) {
                var end = i + marker.count
                while end < arn.count && arn[end] != 0x2F { end += 1 }
                if end > i + marker.count { centre = name(UnsafeRawBufferPointer(rebasing: arn[(i + marker.count)..<end])) }
                break
            }
            i += 1
        }
        lastARN = Array(arn)
        lastARNCentre = centre
        return centre
    }

    // MARK: - Chains

    /// A new chain of no legs yet, in a free place if there is one; its place.
    private func openChain(_ key: CallID, centre: Int32) -> Int {
        serial += 1
        let chain = Chain(key: key, serial: serial, centre: centre)
        let p: Int
        if let free = freeChains.popLast() {
            p = Int(free)
            chains[p] = chain
        } else {
            p = chains.count
            chains.append(chain)
        }
        chainPlace[key] = Int32(p)
        return p
    }

    /// The chain at `p` goes (emitted, or left without legs); its legs' places are freed
    /// by the caller.
    private func closeChain(_ p: Int) {
        chainPlace[chains[p].key] = nil
        chains[p].serial = 0
        freeChains.append(Int32(p))
    }

    /// Adds `leg` after the last of chain `p`'s.
    private func append(_ leg: Leg, to p: Int) {
        var leg = leg
        leg.after = -1
        let l: Int
        if let free = freeLegs.popLast() {
            l = Int(free)
            legs[l] = leg
        } else {
            l = legs.count
            legs.append(leg)
        }
        let last = Int(chains[p].lastLeg)
        if last >= 0 { legs[last].after = Int32(l) } else { chains[p].firstLeg = Int32(l) }
        chains[p].lastLeg = Int32(l)
        chains[p].legCount += 1
    }

    /// The place of the leg of chain `p` that is contact `id`, if any.
    private func leg(_ id: CallID, of p: Int) -> Int? {
        var l = Int(chains[p].firstLeg)
        while l >= 0 {
            if legs[l].contactId == id { return l }
            l = Int(legs[l].after)
        }
        return nil
    }

    private func removeLeg(_ l: Int, of p: Int) {
        chainOf[legs[l].contactId] = nil
        var before = -1, at = Int(chains[p].firstLeg)
        while at != l {
            before = at
            at = Int(legs[at].after)
        }
        let after = legs[l].after
        if before >= 0 { legs[before].after = after } else { chains[p].firstLeg = after }
        if chains[p].lastLeg == Int32(l) { chains[p].lastLeg = Int32(before) }
        chains[p].legCount -= 1
        freeLegs.append(Int32(l))
        if chains[p].legCount == 0 {
            closeChain(p)
        } else {
            recompute(p)
        }
    }

    /// Recomputes a chain's bounds and release time after a change.
    private func recompute(_ p: Int) {
        var earliest = Int64.max, lastKey = Int64.min
        // Waiting for a leg named by `NextContactId`, or for the final record of a contact
        // in progress: either may come up to a call timeout after the chain began.
        var waiting = false
        var l = Int(chains[p].firstLeg)
        while l >= 0 {
            earliest = min(earliest, legs[l].earliest)
            lastKey = max(lastKey, legs[l].key)
            if !waiting && (legs[l].disconnect == nil || (legs[l].hasNext && leg(legs[l].next, of: p) == nil)) { waiting = true }
            l = Int(legs[l].after)
        }
        let releaseAt = waiting ? max(lastKey, earliest &+ timeout) &+ lateness : lastKey &+ lateness
        // The entry pushed when the chain's earliest became what it is stays valid, so
        // only a change needs another (`floor` asks only for the least valid one).
        if earliest != chains[p].earliest { earliestHeld.push(earliest, Tag(place: Int32(p), serial: chains[p].serial)) }
        chains[p].earliest = earliest
        chains[p].lastKey = lastKey
        chains[p].releaseAt = releaseAt
        releases.push(releaseAt, chains[p].key)
    }

    private func release(before latest: Int64, _ out: AdapterOutput) {
        while let top = releases.pop(below: latest) {
            guard let p = chainPlace[top.tag], chains[Int(p)].releaseAt == top.at else { continue }
            emit(Int(p), out)
        }
        while let top = forgets.pop(below: latest) {
            let p = Int(top.tag.place)
            if memories[p].serial == top.tag.serial && memories[p].until == top.at { forget(p) }
        }
    }

    /// One chain as one call: the first queue visit is the arrive, every other contact a
    /// transfer, the earliest agent connection the answer, the last disconnect the end.
    private func emit(_ p: Int, _ out: AdapterOutput) {
        let chain = chains[p]
        closeChain(p)
        defer {
            var l = Int(chain.firstLeg)
            while l >= 0 {
                freeLegs.append(Int32(l))
                l = Int(legs[l].after)
            }
        }
        var l = Int(chain.firstLeg)
        while l >= 0 {
            chainOf[legs[l].contactId] = nil
            remember(legs[l].contactId, kind: chain.skip, until: chain.earliest &+ timeout &+ lateness)
            l = Int(legs[l].after)
        }
        if chain.skip >= 0 {
            for _ in 0..<chain.legCount { out.countSkipped(skipKinds[Int(chain.skip)]) }
            return
        }
        // Active legs reached a queue or an agent. The first visit is the least of their
        // queue entries, ties by contact id as bytes.
        var hasHead = false, active = 0, visit = -1
        var answer: Int64?, end = Int64.min, ended = true
        l = Int(chain.firstLeg)
        while l >= 0 {
            let leg = legs[l]
            if leg.isHead { hasHead = true }
            if leg.queue >= 0 || leg.connected != nil {
                active += 1
                if leg.arrive != nil,
                    visit < 0 || precedes(leg.visit!, leg.contactId, legs[visit].visit!, legs[visit].contactId)
                {
                    visit = l
                }
                if let c = leg.connected { answer = min(answer ?? c, c) }
            }
            if let d = leg.disconnect { end = max(end, d) } else { ended = false }
            l = Int(leg.after)
        }
        if hasHead && visit < 0 {
            // Never queued. A caller whom the flow or the network cut off did not get
            // through: a blocked call, from the inbound contact's record (each other leg,
            // IVR only too, is skipped). Otherwise the chain may have been self-service.
            var head = Int(chain.firstLeg)
            while head >= 0 && legs[head].blockedArrive == nil { head = Int(legs[head].after) }
            if active == 0, head >= 0, let blockedEnd = legs[head].disconnect {
                out.emit(legs[head].blockedArrive!, extraLine: false)
                emitBuilt(ts: blockedEnd, centre: chain.centre, call: chain.key, kind: .blocked, extraLine: true, out)
                l = Int(chain.firstLeg)
                while l >= 0 {
                    if legs[l].contactId != legs[head].contactId { out.countSkipped(.notQueued) }
                    l = Int(legs[l].after)
                }
            } else {
                for _ in 0..<chain.legCount { out.countSkipped(.notQueued) }
            }
            return
        }
        l = Int(chain.firstLeg)
        while l >= 0 {
            if legs[l].queue < 0 && legs[l].connected == nil { out.countSkipped(.notQueued) }
            l = Int(legs[l].after)
        }
        guard active > 0 else { return }
        var first: CallID?
        if hasHead, visit >= 0 {
            out.emit(legs[visit].arrive!, extraLine: false)
            first = legs[visit].contactId
        }
        // Every other active leg is a transfer, in time order.
        order.removeAll(keepingCapacity: true)
        l = Int(chain.firstLeg)
        while l >= 0 {
            if (legs[l].queue >= 0 || legs[l].connected != nil) && legs[l].contactId != first { order.append(Int32(l)) }
            l = Int(legs[l].after)
        }
        if order.count > 1 {
            order.sort { a, b in
                let la = legs[Int(a)], lb = legs[Int(b)]
                return precedes(la.visit ?? la.initiation, la.contactId, lb.visit ?? lb.initiation, lb.contactId)
            }
        }
        for t in order {
            let leg = legs[Int(t)]
            emitBuilt(
                ts: leg.visit ?? leg.initiation, centre: chain.centre, call: chain.key, kind: .transfer,
                service: leg.queue, extraLine: false, out)
        }
        if let answer {
            emitBuilt(ts: answer, centre: chain.centre, call: chain.key, kind: .answer, extraLine: true, out)
        }
        // A leg still in progress when the chain had to be emitted (its final record never
        // came within the call timeout): the call has no known end, so it is incomplete.
        if ended {
            emitBuilt(ts: end, centre: chain.centre, call: chain.key, kind: answer != nil ? .end : .abandon, extraLine: true, out)
        }
    }

    private func emitBuilt(
        ts: Int64, centre: Int32, call: CallID, kind: EventKind, service: Int32 = -1,
        extraLine: Bool, _ out: AdapterOutput
    ) {
        let built = call.withBytes(long: longIDs) { callBytes in
            withName(centre) { centreBytes in
                if service < 0 {
                    return canonical.build(out.builder, ts: ts, centre: centreBytes, call: callBytes, kind: kind)
                }
                return withName(service) { serviceBytes in
                    canonical.build(out.builder, ts: ts, centre: centreBytes, call: callBytes, kind: kind, service: serviceBytes)
                }
            }
        }
        switch built {
        case .event(let e): out.emit(e, extraLine: extraLine)
        case .rejected(let reason): if !extraLine { out.countRejected(reason) }
        }
    }

    /// Legs in time order, ties by contact id as bytes, so emission never depends on hashing.
    private func precedes(_ ta: Int64, _ a: CallID, _ tb: Int64, _ b: CallID) -> Bool {
        ta != tb ? ta < tb : CallID.precedes(a, b, long: longIDs)
    }

    // MARK: - Contacts remembered

    private func remember(_ id: CallID, kind: Int8, until: Int64) {
        let m: Int
        if let known = memoryOf[id] {
            m = Int(known)
            memories[m].kind = kind
            memories[m].until = until
        } else {
            serial += 1
            let memory = Memory(id: id, serial: serial, kind: kind, until: until)
            if let free = freeMemories.popLast() {
                m = Int(free)
                memories[m] = memory
            } else {
                m = memories.count
                memories.append(memory)
            }
            memoryOf[id] = Int32(m)
        }
        forgets.push(until, Tag(place: Int32(m), serial: memories[m].serial))
    }

    private func forget(_ m: Int) {
        memoryOf[memories[m].id] = nil
        memories[m].serial = 0
        freeMemories.append(Int32(m))
    }

    /// `kind`'s index in `skipKinds`, added on first sight.
    private func skipCode(_ kind: SkipKind) -> Int8 {
        if let i = skipKinds.firstIndex(of: kind) { return Int8(i) }
        skipKinds.append(kind)
        return Int8(skipKinds.count - 1)
    }

    // MARK: - Ids and names

    private func callID(_ bytes: UnsafeRawBufferPointer) -> CallID { CallID(bytes, long: longIDs) }

    private func callID(_ s: String) -> CallID {
        var s = s
        return s.withUTF8 { callID(UnsafeRawBufferPointer($0)) }
    }

    private func string(_ id: CallID) -> String { id.withBytes(long: longIDs) { String(decoding: $0, as: UTF8.self) } }

    /// The index of `bytes` in `names`, added on first sight.
    private func name(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let key = callID(bytes)
        if let i = nameIndex[key] { return i }
        let i = Int32(names.count)
        names.append(String(decoding: bytes, as: UTF8.self))
        nameIndex[key] = i
        return i
    }

    private func name(_ s: String) -> Int32 {
        var s = s
        return s.withUTF8 { name(UnsafeRawBufferPointer($0)) }
    }

    /// Lends the bytes of name `i` to `body`. Inlined: called out of line, it took the
    /// adapter and the output as owned, a retain and release of each per event.
    @inline(__always)
    private func withName<R>(_ i: Int32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var s = names[Int(i)]
        return s.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}

/// Inbound contacts that ended in the flow before reaching a queue, taken as callers who
/// could not get through (docs/formats.md, "Callers who never got through").
enum IVRBlocked {
    /// The service of such a call: it has no queue. The parentheses keep it apart from any
    /// queue's name.
    static let service = "(ivr)"

    /// `DisconnectReason` values that mean the caller was cut off rather than served: the
    /// flow ended the contact (`CONTACT_FLOW_DISCONNECT`: "all our lines are busy", a
    /// closed-hours message) or the network failed (`TELECOM_PROBLEM` and every other
    /// `TELECOM_...` value). `CUSTOMER_DISCONNECT` (perhaps served by self-service) and the
    /// rest are not.
    static func isBlocking(_ reason: UnsafeRawBufferPointer) -> Bool {
        reason.elementsEqual("CONTACT_FLOW_DISCONNECT".utf8) || reason.starts(with: "TELECOM_".utf8)
    }
}
