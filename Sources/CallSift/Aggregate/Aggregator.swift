import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSiftConcurrency

/// Adds classified contacts into the counters of their base group: (centre, arrival
/// service, local day of `t`) (docs/metrics.md, "Output").
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
package final class Aggregator {
    /// A base group. `day` is days since 1970-01-01 in the report's time zone.
    package struct GroupKey: Hashable, Sendable {
        package var centre: Int32
        package var service: Int32
        package var day: Int32
    }

    private let calendar: LocalCalendar
    /// Dense index of each base group; in cache (groups are few), and the group of the
    /// previous contact is tried first.
    private let index = ShardTable<GroupKey, Int32>(minimumCapacity: 1 << 10)
    @exclusivity(unchecked) private var lastKey = GroupKey(centre: -1, service: -1, day: .min)
    @exclusivity(unchecked) private var lastGroup: Int32 = -1
    /// The local day of the instants `dayFrom ..< dayTo` (`LocalCalendar.dayAndRange`):
    /// contacts come in `t` order, so nearly all fall in the range of the one before.
    @exclusivity(unchecked) private var day: Int32 = 0
    @exclusivity(unchecked) private var dayFrom: Int64 = 0
    @exclusivity(unchecked) private var dayTo: Int64 = 0
    @exclusivity(unchecked) package private(set) var keys: [GroupKey] = []
    @exclusivity(unchecked) package private(set) var counters: [Counters] = []

    package init(calendar: LocalCalendar) { self.calendar = calendar }

    /// The dense index of `contact`'s base group, created on first use.
    func group(of contact: Contact) -> Int32 {
        if contact.t < dayFrom || contact.t >= dayTo { (day, dayFrom, dayTo) = calendar.dayAndRange(ofUTCMillis: contact.t) }
        let key = GroupKey(centre: contact.centre, service: contact.service, day: day)
        if key == lastKey { return lastGroup }
        let i: Int32
        if let slot = index.find(key) {
            i = index[slot]
        } else {
            i = Int32(keys.count)
            index.insert(key, i)
            keys.append(key)
            counters.append(Counters())
        }
        lastKey = key
        lastGroup = i
        return i
    }

    /// Counts everything about `c` that is known when it is classified.
    func record(_ c: Contact, group g: Int32, avoidableClass: AvoidableClass?, settings: AnalysisSettings) {
        counters[Int(g)].count(c, avoidableClass: avoidableClass, settings: settings)
    }

    /// Counts a first-contact-resolution verdict, decided later than the contact itself.
    func recordFCR(group g: Int32, mature: Bool, resolved: Bool) {
        counters[Int(g)].countFCR(mature: mature, resolved: resolved)
    }

    /// The base group of `key`, if this aggregator has it.
    func existingGroup(_ key: GroupKey) -> Int32? { index.find(key).map { index[$0] } }

    /// The counters of a report taken while the run goes on (`Tally`): this aggregator's,
    /// copied, to which a preview adds without changing the aggregator.
    func tally() -> Tally { Tally(aggregator: self, calendar: calendar, keys: keys, counters: counters) }

    /// An aggregator's counters, copied, and the groups a preview adds to them: what the
    /// report "as if the input ended now" counts, while the aggregator itself stays as the
    /// run left it (docs/architecture.md, "The engine session"). Group indices below the
    /// aggregator's count are the aggregator's own, so FCR verdicts queued in the
    /// classifier name their group here as there.
    struct Tally {
        let aggregator: Aggregator
        let calendar: LocalCalendar
        private(set) var keys: [GroupKey]
        private(set) var counters: [Counters]
        private var added: [GroupKey: Int32] = [:]
        /// The local day of the instants `dayFrom ..< dayTo`, and the group of the contact
        /// before (contacts come in `t` order).
        private var day: Int32 = 0
        private var dayFrom: Int64 = 0
        private var dayTo: Int64 = 0
        private var lastKey = GroupKey(centre: -1, service: -1, day: .min)
        private var lastGroup: Int32 = -1

        init(aggregator: Aggregator, calendar: LocalCalendar, keys: [GroupKey], counters: [Counters]) {
            self.aggregator = aggregator
            self.calendar = calendar
            self.keys = keys
            self.counters = counters
        }

        mutating func group(of c: Contact) -> Int32 {
            if c.t < dayFrom || c.t >= dayTo { (day, dayFrom, dayTo) = calendar.dayAndRange(ofUTCMillis: c.t) }
            let key = GroupKey(centre: c.centre, service: c.service, day: day)
            if key == lastKey { return lastGroup }
            let g: Int32
            if let known = aggregator.existingGroup(key) ?? added[key] {
                g = known
            } else {
                g = Int32(keys.count)
                added[key] = g
                keys.append(key)
                counters.append(Counters())
            }
            lastKey = key
            lastGroup = g
            return g
        }

        mutating func record(_ c: Contact, group g: Int32, avoidableClass: AvoidableClass?, settings: AnalysisSettings) {
            counters[Int(g)].count(c, avoidableClass: avoidableClass, settings: settings)
        }

        mutating func recordFCR(group g: Int32, mature: Bool, resolved: Bool) {
            counters[Int(g)].countFCR(mature: mature, resolved: resolved)
        }
    }
}

extension Counters {
    /// Counts everything about `c` that is known when it is classified.
    @inline(__always)
    mutating func count(_ c: Contact, avoidableClass: AvoidableClass?, settings: AnalysisSettings) {
        contacts += 1
        if c.identified { identified += 1 }
        if c.handled {
            handled += 1
            waitMsSum += c.wait
            handleMsSum += c.handle
            if c.wait <= settings.slThreshold { answeredInSL += 1 }
        }
        if c.abandoned {
            abandoned += 1
            if c.wait < settings.shortAbandon { shortAbandoned += 1 }
        }
        if c.blocked { blocked += 1 }
        if c.transferred { transferred += 1 }
        if let cls = avoidableClass {
            avoidable += 1
            switch cls {
            case .progressChase: progressChase += 1
            case .repeat: repeats += 1
            case .retry: retry += 1
            case .misdirected: misdirected += 1
            case .clarification: clarification += 1
            }
        }
    }

    /// Counts a first-contact-resolution verdict, decided later than the contact itself.
    @inline(__always)
    mutating func countFCR(mature: Bool, resolved: Bool) {
        if mature {
            fcrEligible += 1
            if resolved { fcr += 1 }
        } else {
            fcrPending += 1
        }
    }
}

extension Aggregator.GroupKey: ShardTableKey {
    package var tableHash: UInt64 {
        mix64(UInt64(UInt32(bitPattern: centre)) << 32 ^ UInt64(UInt32(bitPattern: service)) ^ UInt64(UInt32(bitPattern: day)) &* 0x9E37_79B9_7F4A_7C15)
    }
}

// MARK: Durable state (docs/architecture.md, "Durable state")

extension Aggregator {
    /// Writes every base group and its counters, in the order of their dense indices (the
    /// FCR verdicts still to come name their group by it).
    func encode(into w: inout StateWriter) {
        w.count(keys.count)
        for (k, c) in zip(keys, counters) {
            w.int(k.centre); w.int(k.service); w.int(k.day)
            StateCodec.encode(c, into: &w)
        }
    }

    /// Reads what `encode` wrote into this aggregator, which must be new.
    func restore(from r: inout StateReader) throws {
        precondition(keys.isEmpty, "restore into a used aggregator")
        let n = try r.count(minBytes: 3 + Counters.fields.count)
        for _ in 0..<n {
            let key = GroupKey(centre: try r.nameID(.centre), service: try r.nameID(.service), day: try r.int32())
            guard index.find(key) == nil else { throw r.malformed("a base group twice") }
            index.insert(key, Int32(keys.count))
            keys.append(key)
            counters.append(try StateCodec.decodeCounters(from: &r))
        }
    }
}
