import CallSiftCore

/// A map from ids held as `CallID`s (calls, contacts, queue names) to small integers,
/// for the lookups an adapter makes on every record: linear probing over one array of
/// slots from the id's own `hash64`, so a lookup hashes once and never goes through
/// `Hasher`, whose seeding and finalising had been a tenth of queue_log's reading.
/// Removal shifts the later slots of a probe run back (no tombstones).
///
/// A value type: copying an adapter copies its index.
struct IDIndex {
    private struct Slot {
        var id = CallID()
        /// -1: empty.
        var value: Int32 = -1
    }

    private var slots = [Slot](repeating: Slot(), count: 16)
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// The ids held, in no particular order.
    var keys: [CallID] { slots.compactMap { $0.value >= 0 ? $0.id : nil } }

    @inline(__always)
    private func home(_ id: CallID) -> Int { Int(truncatingIfNeeded: id.hash64 >> 8) & (slots.count &- 1) }

    /// The slot holding `id`, or the empty slot where it would go.
    @inline(__always)
    private func probe(_ id: CallID) -> Int {
        let mask = slots.count &- 1
        var i = home(id)
        while slots[i].value >= 0 && slots[i].id != id { i = (i &+ 1) & mask }
        return i
    }

    subscript(id: CallID) -> Int32? {
        @inline(__always) get {
            let s = slots[probe(id)]
            return s.value >= 0 ? s.value : nil
        }
        set {
            guard let newValue else {
                _ = removeValue(forKey: id)
                return
            }
            precondition(newValue >= 0, "IDIndex holds values from 0 up")
            let i = probe(id)
            if slots[i].value >= 0 {
                slots[i].value = newValue
                return
            }
            if (count &+ 1) &* 2 > slots.count {
                grow()
                slots[probe(id)] = Slot(id: id, value: newValue)
            } else {
                slots[i] = Slot(id: id, value: newValue)
            }
            count &+= 1
        }
    }

    @discardableResult
    mutating func removeValue(forKey id: CallID) -> Int32? {
        let mask = slots.count &- 1
        var hole = probe(id)
        guard slots[hole].value >= 0 else { return nil }
        let value = slots[hole].value
        // Shift back each later entry of the run whose home is not cyclically in (hole, i].
        var i = (hole &+ 1) & mask
        while slots[i].value >= 0 {
            let h = home(slots[i].id)
            let fromHome = (i &- h) & mask, holeFromHome = (hole &- h) & mask
            if holeFromHome < fromHome {
                slots[hole] = slots[i]
                hole = i
            }
            i = (i &+ 1) & mask
        }
        slots[hole] = Slot()
        count &-= 1
        return value
    }

    mutating func removeAll() {
        slots = [Slot](repeating: Slot(), count: 16)
        count = 0
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        for s in old where s.value >= 0 { slots[probe(s.id)] = s }
    }
}
