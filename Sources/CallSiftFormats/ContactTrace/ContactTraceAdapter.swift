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

    private struct Leg {
        var contactId: String
        var next: String?
        var isHead: Bool
        var lastUpdate: Int64
        var key: Int64
        /// `InitiationTimestamp`.
        var initiation: Int64
        /// Queue entry (`Queue.EnqueueTimestamp`, else `InitiationTimestamp`) when queued.
        var visit: Int64?
        var queue: String?
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
    }

    private struct Chain {
        var centre: String
        var legs: [Leg] = []
        var earliest = Int64.max
        var lastKey = Int64.min
        /// Set when its first contact turned out to be skipped traffic (outbound, ...).
        var skip: SkipKind?
        var releaseAt = Int64.max
    }

    @exclusivity(unchecked) private var chains: [String: Chain] = [:]
    /// Held contact → its chain's key.
    @exclusivity(unchecked) private var chainOf: [String: String] = [:]
    /// Contacts already emitted (kind nil) or skipped, remembered until `until`.
    @exclusivity(unchecked) private var remembered: [String: (kind: SkipKind?, until: Int64)] = [:]
    @exclusivity(unchecked) private var releases = LazyMinimum<String>()
    @exclusivity(unchecked) private var earliestHeld = LazyMinimum<String>()
    @exclusivity(unchecked) private var forgets = LazyMinimum<String>()

    package init(centre: String?, settings: AnalysisSettings) {
        centreOverride = centre
        timeout = settings.callTimeout
        lateness = settings.lateness
    }

    /// A copy of `other`, value by value (its state is all values).
    private init(copying other: ContactTraceAdapter) {
        centreOverride = other.centreOverride
        timeout = other.timeout
        lateness = other.lateness
        parser = other.parser
        canonical = other.canonical
        chains = other.chains
        chainOf = other.chainOf
        remembered = other.remembered
        releases = other.releases
        earliestHeld = other.earliestHeld
        forgets = other.forgets
        lastInstance = other.lastInstance
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

    package var holdsAnything: Bool { !chains.isEmpty || !remembered.isEmpty }

    package func heldFloors() -> [String: Int64] {
        var floors: [String: Int64] = [:]
        for c in chains.values { floors[c.centre] = min(floors[c.centre] ?? .max, c.earliest) }
        return floors
    }

    /// The chains (each leg as read), and the contacts remembered; the queues of release
    /// and forget times follow from them, and are made again by `init(restoring:)`.
    package func save(into w: inout AdapterStateWriter) {
        w.optionalString(centreOverride)
        // In a fixed order, so that the same state is written the same way.
        let keys = chains.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        w.count(keys.count)
        for k in keys {
            let c = chains[k]!
            w.string(k)
            w.string(c.centre)
            w.optionalString(c.skip?.rawValue)
            w.count(c.legs.count)
            for leg in c.legs {
                w.string(leg.contactId)
                w.optionalString(leg.next)
                w.bool(leg.isHead)
                w.int(leg.lastUpdate)
                w.int(leg.key)
                w.int(leg.initiation)
                w.optionalInt(leg.visit)
                w.optionalString(leg.queue)
                w.optionalEvent(leg.arrive)
                w.optionalInt(leg.connected)
                w.optionalInt(leg.disconnect)
                w.int(leg.earliest)
                w.optionalEvent(leg.blockedArrive)
            }
        }
        let ids = remembered.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        w.count(ids.count)
        for id in ids {
            let r = remembered[id]!
            w.string(id)
            w.optionalString(r.kind?.rawValue)
            w.int(r.until)
        }
    }

    /// The adapter `save` wrote, for a run under `settings`.
    package init(restoring r: inout AdapterStateReader, settings: AnalysisSettings) throws(AdapterStateError) {
        centreOverride = try r.optionalString()
        timeout = settings.callTimeout
        lateness = settings.lateness
        func kind(_ name: String?) throws(AdapterStateError) -> SkipKind? {
            guard let name else { return nil }
            guard let k = FormatRegistry.skipKind(named: name) else { throw AdapterStateError(description: "a skip kind this callsift does not know: \(name)") }
            return k
        }
        for _ in 0..<(try r.count(minBytes: 16)) {
            let key = try r.string()
            var chain = Chain(centre: try r.string())
            chain.skip = try kind(try r.optionalString())
            let legs = try r.count(minBytes: 40)
            guard legs > 0, legs <= Self.maxLegs else { throw AdapterStateError(description: "a held chain of \(legs) contacts") }
            for _ in 0..<legs {
                let leg = Leg(
                    contactId: try r.string(), next: try r.optionalString(), isHead: try r.bool(), lastUpdate: try r.int(),
                    key: try r.int(), initiation: try r.int(), visit: try r.optionalInt(), queue: try r.optionalString(),
                    arrive: try r.optionalEvent(), connected: try r.optionalInt(), disconnect: try r.optionalInt(),
                    earliest: try r.int(), blockedArrive: try r.optionalEvent())
                chain.legs.append(leg)
                chainOf[leg.contactId] = key
            }
            chains[key] = chain
            recompute(key)
        }
        for _ in 0..<(try r.count(minBytes: 10)) {
            let id = try r.string()
            let k = try kind(try r.optionalString())
            remember(id, kind: k, until: try r.int())
        }
        guard r.isAtEnd else { throw AdapterStateError(description: "bytes after a contact trace adapter's state") }
    }

    // MARK: - FormatAdapter

    package func read(_ record: UnsafeRawBufferPointer, _ out: AdapterOutput) -> AdapterVerdict {
        if let problem = parser.parse(record) { return .rejected(problem) }
        // Checked in a fixed order: ts, centre, call, event (how the contact started).
        guard parser.isPresent(.initiationTimestamp) else { return .rejected(.missingTs) }
        var times = [Int64?](repeating: nil, count: 5)
        let timeFields: [Field] = [
            .initiationTimestamp, .enqueueTimestamp, .connectedToAgentTimestamp,
            .disconnectTimestamp, .lastUpdateTimestamp,
        ]
        for (i, f) in timeFields.enumerated() where parser.isPresent(f) {
            guard let t = parser.with(f, { Timestamp.parse($0!) }) else { return .rejected(.badTs) }
            times[i] = t
        }
        let initiation = times[0]!, enqueue = times[1], connected = times[2], disconnect = times[3], lastUpdate = times[4]
        guard let key = [lastUpdate, disconnect].compactMap({ $0 }).max() else { return .rejected(.missingTs) }
        guard let centre = centreOverride ?? parser.with(.instanceARN, instanceId) else { return .rejected(.missingCentre) }
        guard let contactId = parser.string(.contactId) else { return .rejected(.missingCall) }
        guard parser.isPresent(.initiationMethod) else { return .rejected(.missingEvent) }
        let role = parser.with(.initiationMethod) { m in
            parser.with(.channel) { c in Self.role(method: m!, channel: c) }
        }

        guard out.admit(orderKey: key) else { return .late }
        release(before: min(key, out.releaseLimit), out)

        // At least once: the greatest LastUpdateTimestamp per ContactId wins.
        let update = lastUpdate ?? key
        if let r = remembered[contactId], r.kind == nil { return .duplicate }
        var replacing: (chain: String, index: Int)?
        if let k = chainOf[contactId], let i = chains[k]?.legs.firstIndex(where: { $0.contactId == contactId }) {
            if update <= chains[k]!.legs[i].lastUpdate { return .duplicate }
            replacing = (k, i)
        }

        if case .skip(let kind) = role {
            if let r = replacing {
                // An earlier delivery was taken as inbound: now it is neither.
                out.countDuplicate()
                removeLeg(r.chain, r.index)
            }
            remember(contactId, kind: kind, until: key &+ timeout &+ lateness)
            if chains[contactId] != nil { chains[contactId]!.skip = kind }
            return .skipped(kind)
        }

        let earliest = [initiation, enqueue, connected, disconnect].compactMap { $0 }.min()!
        if earliest < key &- timeout { return .skipped(.stale) }

        let chainKey =
            replacing?.chain ?? parser.string(.initialContactId)
            ?? parser.string(.previousContactId).map { chainOf[$0] ?? $0 } ?? contactId
        if let r = remembered[chainKey] {
            if let kind = r.kind {
                remember(contactId, kind: kind, until: r.until)
                return .skipped(kind)
            }
            if chainKey != contactId { return .late }  // its call was emitted already
        }

        var leg = Leg(
            contactId: contactId, next: parser.string(.nextContactId), isHead: role == .head,
            lastUpdate: update, key: key, initiation: initiation, visit: nil, queue: parser.string(.queueName),
            arrive: nil, connected: connected, disconnect: disconnect, earliest: earliest, blockedArrive: nil)
        if role == .head, leg.queue == nil, connected == nil, disconnect != nil,
            parser.with(.disconnectReason, { $0.map(IVRBlocked.isBlocking) ?? false })
        {
            let built = parser.with(.customerAddress) { address in
                canonical.build(
                    out.builder, ts: initiation, centre: centre, call: chainKey, kind: .arrive,
                    caller: address.map { String(decoding: $0, as: UTF8.self) } ?? "", service: IVRBlocked.service)
            }
            switch built {
            case .event(let e): leg.blockedArrive = e
            case .rejected(let reason): return .rejected(reason)
            }
        }
        if let queue = leg.queue {
            let visit = enqueue ?? initiation
            leg.visit = visit
            let built = parser.with(.customerAddress) { address in
                canonical.build(
                    out.builder, ts: visit, centre: centre, call: chainKey, kind: .arrive,
                    caller: address.map { String(decoding: $0, as: UTF8.self) } ?? "", service: queue)
            }
            switch built {
            case .event(let e): leg.arrive = e
            case .rejected(let reason): return .rejected(reason)
            }
        }

        var chain = chains[chainKey] ?? Chain(centre: centre)
        if let r = replacing {
            out.countDuplicate()
            chain.legs[r.index] = leg
        } else {
            guard chain.legs.count < Self.maxLegs else { return .rejected(.badValue) }
            chain.legs.append(leg)
        }
        if let kind = remembered[chainKey]?.kind { chain.skip = kind }
        chainOf[contactId] = chainKey
        chains[chainKey] = chain
        recompute(chainKey)
        return .taken
    }

    package func finish(_ out: AdapterOutput) {
        let keys = chains.keys.sorted { a, b in
            let ra = chains[a]!.releaseAt, rb = chains[b]!.releaseAt
            return ra != rb ? ra < rb : a.utf8.lexicographicallyPrecedes(b.utf8)
        }
        for k in keys { emit(k, out) }
    }

    package func floor(latestKey: Int64) -> Int64 {
        let held = earliestHeld.min { at, key in self.chains[key]?.earliest == at }?.at ?? .max
        // Records still to come: key ≥ latest − lateness, events ≥ key − timeout.
        let coming = latestKey == .min ? Int64.min : latestKey &- lateness &- timeout
        return min(held, coming)
    }

    // MARK: - Chains

    private enum Role: Equatable { case head, leg, skip(SkipKind) }

    private static func role(method: UnsafeRawBufferPointer, channel: UnsafeRawBufferPointer?) -> Role {
        func is_(_ s: String) -> Bool { method.elementsEqual(s.utf8) }
        if is_("INBOUND") || is_("WEBRTC_API") { return .head }
        if is_("TRANSFER") || is_("QUEUE_TRANSFER") { return .leg }
        if is_("API") { return channel.map { $0.elementsEqual("CHAT".utf8) } == true ? .head : .skip(.api) }
        if is_("OUTBOUND") || is_("EXTERNAL_OUTBOUND") { return .skip(.outbound) }
        if is_("CALLBACK") { return .skip(.callback) }
        if is_("MONITOR") { return .skip(.monitor) }
        if is_("DISCONNECT") || is_("AGENT_REPLY") || is_("FLOW") { return .skip(.system) }
        return .skip(.otherInitiation)
    }

    @exclusivity(unchecked) private var lastInstance: (arn: [UInt8], id: String?) = ([], nil)

    /// `arn:aws:connect:region:account:instance/ID[/...]` → `ID` (nil when there is none).
    /// Records of one instance repeat the same ARN, so the last answer is kept.
    private func instanceId(_ arn: UnsafeRawBufferPointer?) -> String? {
        guard let arn else { return nil }
        if lastInstance.arn.elementsEqual(arn) { return lastInstance.id }
        let marker = Array("instance/".utf8)
        var id: String?
        var i = 0
        while i + marker.count <= arn.count {
            if arn[i] == marker[0] && marker.elementsEqual(arn[i..<i + marker.count]) {
                var end = i + marker.count
                while end < arn.count && arn[end] != 0x2F { end += 1 }
                if end > i + marker.count { id = String(decoding: arn[(i + marker.count)..<end], as: UTF8.self) }
                break
            }
            i += 1
        }
        lastInstance = (Array(arn), id)
        return id
    }

    private func remember(_ contactId: String, kind: SkipKind?, until: Int64) {
        remembered[contactId] = (kind, until)
        forgets.push(until, contactId)
    }

    private func removeLeg(_ key: String, _ index: Int) {
        guard var c = chains[key] else { return }
        chainOf[c.legs[index].contactId] = nil
        c.legs.remove(at: index)
        if c.legs.isEmpty {
            chains[key] = nil
        } else {
            chains[key] = c
            recompute(key)
        }
    }

    /// Recomputes a chain's bounds and release time after a change.
    private func recompute(_ key: String) {
        guard var c = chains[key] else { return }
        c.earliest = c.legs.map(\.earliest).min()!
        c.lastKey = c.legs.map(\.key).max()!
        // Waiting for a leg named by `NextContactId`, or for the final record of a contact
        // in progress: either may come up to a call timeout after the chain began.
        let waiting = c.legs.contains { leg in
            leg.disconnect == nil || (leg.next.map { next in !c.legs.contains { $0.contactId == next } } ?? false)
        }
        c.releaseAt = waiting ? max(c.lastKey, c.earliest &+ timeout) &+ lateness : c.lastKey &+ lateness
        chains[key] = c
        releases.push(c.releaseAt, key)
        earliestHeld.push(c.earliest, key)
    }

    private func release(before latest: Int64, _ out: AdapterOutput) {
        while let top = releases.pop(below: latest) {
            guard chains[top.tag]?.releaseAt == top.at else { continue }
            emit(top.tag, out)
        }
        while let top = forgets.pop(below: latest) {
            if remembered[top.tag]?.until == top.at { remembered[top.tag] = nil }
        }
    }

    /// One chain as one call: the first queue visit is the arrive, every other contact a
    /// transfer, the earliest agent connection the answer, the last disconnect the end.
    private func emit(_ key: String, _ out: AdapterOutput) {
        guard let chain = chains.removeValue(forKey: key) else { return }
        for leg in chain.legs {
            chainOf[leg.contactId] = nil
            remember(leg.contactId, kind: chain.skip, until: chain.earliest &+ timeout &+ lateness)
        }
        if let kind = chain.skip {
            for _ in chain.legs { out.countSkipped(kind) }
            return
        }
        var active: [Leg] = []
        for leg in chain.legs where leg.queue != nil || leg.connected != nil { active.append(leg) }
        let hasHead = chain.legs.contains(where: \.isHead)
        let visits = active.filter { $0.arrive != nil }.sorted { precedes($0.visit!, $0.contactId, $1.visit!, $1.contactId) }
        if hasHead && visits.isEmpty {
            // Never queued. A caller whom the flow or the network cut off did not get
            // through: a blocked call, from the inbound contact's record (each other leg,
            // IVR only too, is skipped). Otherwise the chain may have been self-service.
            if active.isEmpty, let head = chain.legs.first(where: { $0.blockedArrive != nil }), let end = head.disconnect {
                out.emit(head.blockedArrive!, extraLine: false)
                emitBuilt(ts: end, centre: chain.centre, call: key, kind: .blocked, extraLine: true, out)
                for leg in chain.legs where leg.contactId != head.contactId { out.countSkipped(.notQueued) }
            } else {
                for _ in chain.legs { out.countSkipped(.notQueued) }
            }
            return
        }
        for leg in chain.legs where leg.queue == nil && leg.connected == nil { out.countSkipped(.notQueued) }
        guard !active.isEmpty else { return }
        var first: String?
        if hasHead, let arrive = visits.first {
            out.emit(arrive.arrive!, extraLine: false)
            first = arrive.contactId
        }
        let others = active.filter { $0.contactId != first }
            .sorted { precedes($0.visit ?? $0.initiation, $0.contactId, $1.visit ?? $1.initiation, $1.contactId) }
        for leg in others {
            emitBuilt(
                ts: leg.visit ?? leg.initiation, centre: chain.centre, call: key, kind: .transfer,
                service: leg.queue, extraLine: false, out)
        }
        let answer = active.compactMap(\.connected).min()
        if let answer {
            emitBuilt(ts: answer, centre: chain.centre, call: key, kind: .answer, extraLine: true, out)
        }
        // A leg still in progress when the chain had to be emitted (its final record never
        // came within the call timeout): the call has no known end, so it is incomplete.
        if chain.legs.allSatisfy({ $0.disconnect != nil }), let end = chain.legs.compactMap(\.disconnect).max() {
            emitBuilt(ts: end, centre: chain.centre, call: key, kind: answer != nil ? .end : .abandon, extraLine: true, out)
        }
    }

    private func emitBuilt(
        ts: Int64, centre: String, call: String, kind: EventKind, service: String? = nil,
        extraLine: Bool, _ out: AdapterOutput
    ) {
        switch canonical.build(out.builder, ts: ts, centre: centre, call: call, kind: kind, service: service) {
        case .event(let e): out.emit(e, extraLine: extraLine)
        case .rejected(let reason): if !extraLine { out.countRejected(reason) }
        }
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

/// Legs in time order, ties by contact id as bytes, so emission never depends on hashing.
private func precedes(_ ta: Int64, _ a: String, _ tb: Int64, _ b: String) -> Bool {
    ta != tb ? ta < tb : a.utf8.lexicographicallyPrecedes(b.utf8)
}
