import CMemory

/// A key for `ShardTable`: plain value, equality, and a well-mixed 64-bit hash.
public protocol ShardTableKey: Equatable {
    /// All 64 bits should be well mixed: the high bits pick the slot, the low 7 are kept
    /// as a tag that rejects most non-matching slots without comparing keys.
    var tableHash: UInt64 { get }
}

/// One slot of `ShardTable` or `ArrivalTable`: a key and its value side by side.
@usableFromInline struct TableEntry<Key, Value> {
    @usableFromInline var key: Key
    @usableFromInline var value: Value
    @inlinable init(key: Key, value: Value) {
        self.key = key
        self.value = value
    }
}

/// An open-addressing hash table of fixed-size entries, owned by one shard.
///
/// Linear probing; deletion shifts later entries of the probe run back (no tombstones),
/// so lookups never slow down as entries come and go. Each slot holds its key and value
/// side by side in one flat, preallocated buffer, so a lookup that finds its key has its
/// value in the same cache lines; a one-byte tag per slot (`tags`, small enough to stay
/// in cache) rejects most non-matching slots without touching the entries. No object per
/// entry, nothing allocated on the hot path except when the table grows.
///
/// The number of slots need not be a power of two: a key's home slot is the high word of
/// hash × capacity, so a table can grow by less than double. A table that must stay
/// small per entry (the caller scopes: see `init`) grows by a quarter at 80% full and so
/// never drops below 64% full, where doubling at 75% leaves tables 37.5% full.
///
/// The scope tables of a run are far larger than the caches (caller scopes stay for the
/// windows), so nearly every lookup misses. A stage that knows its next keys fetches them
/// a few keys ahead, with `prefetch` or in two steps (`prefetchTag`, then
/// `prefetchSlot`), and the misses overlap.
///
/// Slot numbers are stable until the next `insert` or `remove`.
///
/// Not thread-safe: one shard owns it; other threads reach it only through that shard's ring.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
public final class ShardTable<Key: ShardTableKey, Value> {
    /// The table grows when an insert would take it past this share of its slots.
    public let maxLoad: Double
    /// How much the number of slots is multiplied by when the table grows.
    public let growth: Double

    @usableFromInline typealias Entry = TableEntry<Key, Value>

    @usableFromInline @exclusivity(unchecked) var entries: UnsafeMutablePointer<Entry>
    /// 0: empty; otherwise 0x80 | the low 7 bits of the key's hash (the slot comes from
    /// the high bits, so the two are independent).
    @usableFromInline @exclusivity(unchecked) var tags: UnsafeMutablePointer<UInt8>
    @inlinable public var capacity: Int { _capacity }
    @usableFromInline @exclusivity(unchecked) var _capacity: Int
    /// Byte offset of `value` within an entry.
    @usableFromInline let valueOffset = MemoryLayout<Entry>.offset(of: \Entry.value)!
    @inlinable public var count: Int { _count }
    @usableFromInline @exclusivity(unchecked) var _count = 0

    /// - Parameters:
    ///   - minimumCapacity: entries the table takes before it first grows.
    ///   - maxLoad: the most entries per slot; 3/4 keeps probe runs short.
    ///   - growth: the factor by which the slots grow. Doubling grows least often;
    ///     a smaller factor keeps the table fuller (at least `maxLoad / growth`).
    public init(minimumCapacity: Int = 16, maxLoad: Double = 0.75, growth: Double = 2) {
        precondition(maxLoad > 0 && maxLoad < 1 && growth > 1)
        self.maxLoad = maxLoad
        self.growth = growth
        _capacity = max(16, Int((Double(minimumCapacity) / maxLoad).rounded(.up)))
        entries = Self.allocateEntries(_capacity)
        tags = Self.allocateTags(_capacity)
    }

    deinit {
        // Plain keys and values (the tables here hold nothing else) need no deinitialising:
        // a pass over millions of slots, each through the generic type's metadata, had been
        // the last twentieth of a second of a run, on one thread.
        if !_isPOD(Entry.self) {
            for i in 0..<capacity where tags[i] != 0 { (entries + i).deinitialize(count: 1) }
        }
        Self.deallocate(entries, tags, capacity: capacity)
    }

    /// Entries start on a cache line, so an entry of up to 64 bytes whose stride divides
    /// 64 never straddles two. Big tables get huge pages (`LargeMemory`).
    @inlinable static func allocateEntries(_ count: Int) -> UnsafeMutablePointer<Entry> {
        LargeMemory.allocate(byteCount: count * MemoryLayout<Entry>.stride, alignment: max(64, MemoryLayout<Entry>.alignment))
            .bindMemory(to: Entry.self, capacity: count)
    }

    /// All zero: every slot empty.
    @inlinable static func allocateTags(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        LargeMemory.allocate(byteCount: count).bindMemory(to: UInt8.self, capacity: count)
    }

    @inlinable static func deallocate(_ entries: UnsafeMutablePointer<Entry>, _ tags: UnsafeMutablePointer<UInt8>, capacity: Int) {
        LargeMemory.deallocate(UnsafeMutableRawPointer(entries), byteCount: capacity * MemoryLayout<Entry>.stride)
        LargeMemory.deallocate(UnsafeMutableRawPointer(tags), byteCount: capacity)
    }

    /// Makes an empty table big enough for `count` entries before it grows, at once (a
    /// table restored from durable state is filled in one go).
    @inlinable public func reserveEmpty(_ count: Int) {
        precondition(self.count == 0, "ShardTable: reserveEmpty on a table that holds entries")
        let wanted = max(16, Int((Double(count) / maxLoad).rounded(.up)) + 1)
        guard wanted > capacity else { return }
        Self.deallocate(entries, tags, capacity: capacity)
        _capacity = wanted
        entries = Self.allocateEntries(capacity)
        tags = Self.allocateTags(capacity)
    }

    /// Bytes held by the table's buffers.
    @inlinable public var allocatedBytes: Int { capacity * (MemoryLayout<Entry>.stride + 1) }

    @inline(__always)
    @inlinable static func tag(_ h: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: h) | 0x80 }

    /// The home slot of hash `h`: ⌊h × capacity / 2⁶⁴⌋, uniform over the slots for a
    /// well-mixed hash, with no power-of-two capacity needed.
    @inline(__always)
    @inlinable func home(_ h: UInt64) -> Int {
        Int(truncatingIfNeeded: h.multipliedFullWidth(by: UInt64(truncatingIfNeeded: capacity)).high)
    }

    @inline(__always)
    @inlinable func after(_ i: Int) -> Int { i + 1 == capacity ? 0 : i + 1 }

    /// How far slot `i` lies past `home`, going round the end.
    @inline(__always)
    @inlinable func distance(from home: Int, to i: Int) -> Int { i >= home ? i - home : i + capacity - home }

    /// Asks the memory system for `key`'s home slot ahead of a `find` or `insert` of it:
    /// its tag, and the cache lines of the home entry and of the two entries after it
    /// (up to 192 bytes), where a linear probe run below 80% full nearly always ends.
    /// A hint: it changes nothing.
    @inline(__always)
    @inlinable public func prefetch(_ key: Key) { prefetch(hash: key.tableHash) }

    /// `prefetch` for a key whose `tableHash` is `h`, for a caller that keeps the hash
    /// for the `find` or `insert` that follows.
    @inline(__always)
    @inlinable public func prefetch(hash h: UInt64) {
        let i = home(h)
        callsift_prefetch(tags + i)
        callsift_prefetch_bytes(entries + i, min(3 * MemoryLayout<Entry>.stride, 192))
    }

    /// The first of two steps of fetching ahead, for a caller that can look further
    /// ahead: only the tag of `h`'s home slot. `prefetchSlot(hash:)`, a while later,
    /// reads the tags and asks for the one entry the lookup will read or write.
    @inline(__always)
    @inlinable public func prefetchTag(hash h: UInt64) {
        callsift_prefetch(tags + home(h))
    }

    /// The second step after `prefetchTag(hash:)`: the entry of the first slot from
    /// `h`'s home whose tag is `h`'s (the key's, nearly always) or empty (where an insert
    /// of it goes). A hint: it changes nothing.
    @inline(__always)
    @inlinable public func prefetchSlot(hash h: UInt64) {
        let t = Self.tag(h)
        var i = home(h)
        while tags[i] != 0 && tags[i] != t { i = after(i) }
        callsift_prefetch_bytes(entries + i, MemoryLayout<Entry>.stride)
    }

    /// The slot holding `key`, or nil.
    ///
    /// - Complexity: O(1) expected.
    @inline(__always)
    @inlinable public func find(_ key: Key) -> Int? { find(key, hash: key.tableHash) }

    /// `find`, given the key's `tableHash`.
    @inline(__always)
    @inlinable public func find(_ key: Key, hash h: UInt64) -> Int? {
        assert(h == key.tableHash, "hash given for another key")
        let t = Self.tag(h)
        var i = home(h)
        while true {
            let s = tags[i]
            if s == 0 { return nil }
            if s == t && entries[i].key == key { return i }
            i = after(i)
        }
    }

    /// Inserts `key`, which must not be present, and returns its slot.
    @discardableResult
    @inlinable public func insert(_ key: Key, _ value: Value) -> Int { insert(key, value, hash: key.tableHash) }

    /// `insert`, given the key's `tableHash`. Inlined, so that the caller's value is built
    /// where it goes rather than copied there.
    @inline(__always) @discardableResult
    @inlinable public func insert(_ key: Key, _ value: Value, hash h: UInt64) -> Int {
        assert(h == key.tableHash, "hash given for another key")
        if Double(count + 1) > Double(capacity) * maxLoad { grow() }
        var i = home(h)
        while tags[i] != 0 {
            assert(!(entries[i].key == key), "insert of a key already present")
            i = after(i)
        }
        tags[i] = Self.tag(h)
        (entries + i).initialize(to: Entry(key: key, value: value))
        _count += 1
        return i
    }

    /// The value in `slot` (which must hold an entry), read or updated in place.
    @inlinable public subscript(slot: Int) -> Value {
        @inline(__always) unsafeAddress { UnsafePointer(valuePointer(slot)) }
        @inline(__always) unsafeMutableAddress { valuePointer(slot) }
    }

    @inline(__always)
    @inlinable func valuePointer(_ slot: Int) -> UnsafeMutablePointer<Value> {
        (UnsafeMutableRawPointer(entries + slot) + valueOffset).assumingMemoryBound(to: Value.self)
    }

    @inlinable public func key(at slot: Int) -> Key { entries[slot].key }

    /// Removes the entry in `slot`, shifting later entries of its probe run back so that
    /// every remaining key stays reachable from its home slot without gaps.
    @inlinable public func remove(at slot: Int) {
        precondition(tags[slot] != 0)
        (entries + slot).deinitialize(count: 1)
        var hole = slot
        var i = after(slot)
        while tags[i] != 0 {
            let home = home(entries[i].key.tableHash)
            // Move entry i into the hole if its home is not cyclically within (hole, i].
            if distance(from: home, to: hole) < distance(from: home, to: i) {
                (entries + hole).moveInitialize(from: entries + i, count: 1)
                tags[hole] = tags[i]
                hole = i
            }
            i = after(i)
        }
        tags[hole] = 0
        _count -= 1
    }

    /// Removes every entry for which `remove` is true, in one pass over the slots.
    ///
    /// Removing entries one by one (`remove(at:)`) walks the rest of each entry's probe run
    /// every time, and a sweep that empties much of a long run walks it over and over.
    /// Here each cluster (a run of occupied slots between two empty ones) is walked once:
    /// an entry the predicate drops leaves a hole, and each later entry of the cluster is
    /// placed again at the first empty slot from its home (itself, if none is nearer), the
    /// way an insert would place it. Entries only move back, into slots already walked, so
    /// the slots ahead are as they were, and every entry stays reachable from its home with
    /// no empty slot in between.
    ///
    /// - Complexity: O(capacity).
    @inlinable public func removeAll(where remove: (Key, Value) -> Bool) {
        guard count > 0 else { return }
        // Start just after an empty slot (there is one: the load is below 1), so that no
        // cluster wraps round the walk's end.
        var start = 0
        while tags[start] != 0 { start += 1 }
        var holes = false  // in the current cluster
        var i = start
        for _ in 0..<capacity {
            i = after(i)
            if tags[i] == 0 {
                holes = false
                continue
            }
            if remove(entries[i].key, entries[i].value) {
                (entries + i).deinitialize(count: 1)
                tags[i] = 0
                _count -= 1
                holes = true
            } else if holes {
                var t = home(entries[i].key.tableHash)
                while tags[t] != 0 && t != i { t = after(t) }
                if t != i {
                    (entries + t).moveInitialize(from: entries + i, count: 1)
                    tags[t] = tags[i]
                    tags[i] = 0
                }
            }
        }
    }

    /// Calls `body` with every entry, in slot order.
    @inlinable public func forEach(_ body: (Key, Value) throws -> Void) rethrows {
        for i in 0..<capacity where tags[i] != 0 { try body(entries[i].key, entries[i].value) }
    }

    /// Grows in place: the buffers are extended (remapped, for big ones, so the old
    /// entries are neither copied nor touched again, and the old and new tables never
    /// coexist), then every entry is moved to where the new capacity puts it.
    ///
    /// The move works on the slots as they stand. Every old entry is first marked
    /// pending. Then, slot by slot, a pending entry goes to the first slot from its new
    /// home that is not yet settled: if that slot is empty, it moves there; if it holds
    /// another pending entry, the two swap and the one now in the current slot is placed
    /// next; if it is the current slot, it stays. A settled entry only ever passed over
    /// settled slots on its way from its home, and settled slots stay settled, so every
    /// entry stays reachable from its home with no empty slot in between. This holds
    /// whatever order the slots are taken in; the order only decides how far apart in
    /// memory the moves are.
    @inlinable func grow() {
        let oldCapacity = capacity
        _capacity = max(oldCapacity + 1, Int(Double(oldCapacity) * growth))
        let stride = MemoryLayout<Entry>.stride
        entries = LargeMemory.reallocate(
            UnsafeMutableRawPointer(entries), from: oldCapacity * stride,
            to: capacity * stride, alignment: max(64, MemoryLayout<Entry>.alignment)
        )
        .bindMemory(to: Entry.self, capacity: capacity)
        tags = LargeMemory.reallocate(UnsafeMutableRawPointer(tags), from: oldCapacity, to: capacity)
            .bindMemory(to: UInt8.self, capacity: capacity)
        let pending: UInt8 = 1  // no settled tag is below 0x80
        for i in 0..<oldCapacity where tags[i] != 0 { tags[i] = pending }
        // From the top down: a new home lies at or above the old one (the home scales
        // with the capacity), so entries mostly move up into the part already done, and
        // both the slots read and the slots written run downwards through memory.
        for i in (0..<oldCapacity).reversed() {
            while tags[i] == pending {
                let h = entries[i].key.tableHash
                var t = home(h)
                while tags[t] >= 0x80 { t = after(t) }
                if t == i {
                    tags[i] = Self.tag(h)
                } else if tags[t] == 0 {
                    (entries + t).moveInitialize(from: entries + i, count: 1)
                    tags[t] = Self.tag(h)
                    tags[i] = 0
                } else {
                    // Another pending entry: it takes this slot and is placed next.
                    let moving = (entries + i).move()
                    (entries + i).moveInitialize(from: entries + t, count: 1)
                    (entries + t).initialize(to: moving)
                    tags[t] = Self.tag(h)
                }
            }
        }
    }

    /// Checks every invariant; for tests, after every mutation.
    /// - count matches the occupied slots;
    /// - every key is found from its home slot with no empty slot in between;
    /// - tags match the keys' hashes; no key appears twice; the load bound holds.
    @inlinable public func checkInvariants() {
        var n = 0
        for i in 0..<capacity where tags[i] != 0 {
            n += 1
            let h = entries[i].key.tableHash
            precondition(tags[i] == Self.tag(h), "tag mismatch at \(i)")
            var j = home(h)
            while j != i {
                precondition(tags[j] != 0, "gap between home \(home(h)) and slot \(i)")
                precondition(!(entries[j].key == entries[i].key), "key twice, at \(j) and \(i)")
                j = after(j)
            }
        }
        precondition(n == count, "count \(count) but \(n) entries")
        precondition(Double(count) <= Double(capacity) * maxLoad)
    }
}

/// A 64-bit finaliser (Stafford's variant 13 of MurmurHash3's fmix64): fast, and every
/// input bit affects every output bit, which linear probing and the tags rely on.
@inline(__always)
@inlinable public func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
