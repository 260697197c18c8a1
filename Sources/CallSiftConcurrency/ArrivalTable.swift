import CMemory

/// A hash table whose entries lie in a ring in the order they were inserted, found
/// through a compact index of hash tags.
///
/// Made for keys that are looked up soon after they are inserted and removed roughly in
/// the order they came: calls, whose events follow the first within minutes and which are
/// cut off a call timeout after it. In a `ShardTable` every lookup of such a table lands
/// at a random place in memory far larger than the caches. Here the entries of the last
/// few minutes lie together at the ring's tail, where the caches still hold them, and
/// removals walk the ring front to back, which the hardware prefetches. Only the index is
/// read at random, and it is small: eight bytes per slot.
///
/// - **Ring.** Entries in insertion order from `head`; a removed entry leaves a hole,
///   and `head` moves past the holes at the front. When the ring is full (holes
///   included), it doubles in place if its live entries fill more than half of it, and
///   otherwise they are compacted in place; then the index is rebuilt.
/// - **Index.** Open addressing with linear probing, deletion by shifting back (no
///   tombstones), kept at most half full: its slots are small, and short probe runs
///   cost fewer mispredicted branches. A slot holds the high 32 bits of the key's hash
///   (the tag, from which its home slot is computed) and the entry's ring position; a key
///   is compared only where the tag matches.
///
/// Positions (the `Int`s that `find` and `insert` return) are stable until the next
/// `insert`, which may move every entry; `remove` moves none.
///
/// Not thread-safe: one shard owns it.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
public final class ArrivalTable<Key: ShardTableKey, Value> {
    @usableFromInline typealias Entry = TableEntry<Key, Value>

    @usableFromInline @exclusivity(unchecked) var entries: UnsafeMutablePointer<Entry>
    /// Whether each ring position holds an entry (not a hole).
    @usableFromInline @exclusivity(unchecked) var live: UnsafeMutablePointer<Bool>
    @inlinable public var ringCapacity: Int { _ringCapacity }
    @usableFromInline @exclusivity(unchecked) var _ringCapacity: Int
    /// Position of the oldest slot in use.
    @usableFromInline @exclusivity(unchecked) var head = 0
    /// Slots in use from `head` on, holes included; the next entry goes after them.
    @usableFromInline @exclusivity(unchecked) var used = 0
    @inlinable public var count: Int { _count }
    @usableFromInline @exclusivity(unchecked) var _count = 0

    /// 0: empty; otherwise tag << 32 | (ring position + 1).
    @usableFromInline @exclusivity(unchecked) var index: UnsafeMutablePointer<UInt64>
    @inlinable public var indexCapacity: Int { _indexCapacity }
    @usableFromInline @exclusivity(unchecked) var _indexCapacity: Int
    @inlinable static var maxIndexLoad: Double { 0.5 }

    public init(minimumCapacity: Int = 16) {
        _ringCapacity = max(16, minimumCapacity)
        _indexCapacity = max(16, Int((Double(_ringCapacity) / Self.maxIndexLoad).rounded(.up)))
        entries = Self.allocateEntries(_ringCapacity)
        live = Self.allocateFlags(_ringCapacity)
        index = Self.allocateIndex(_indexCapacity)
    }

    deinit {
        if !_isPOD(Entry.self) {
            for i in 0..<ringCapacity where live[i] { (entries + i).deinitialize(count: 1) }
        }
        Self.deallocateRing(entries, live, capacity: ringCapacity)
        LargeMemory.deallocate(UnsafeMutableRawPointer(index), byteCount: indexCapacity * 8)
    }

    @inlinable static func allocateEntries(_ n: Int) -> UnsafeMutablePointer<Entry> {
        LargeMemory.allocate(byteCount: n * MemoryLayout<Entry>.stride, alignment: max(64, MemoryLayout<Entry>.alignment))
            .bindMemory(to: Entry.self, capacity: n)
    }

    @inlinable static func allocateFlags(_ n: Int) -> UnsafeMutablePointer<Bool> {
        LargeMemory.allocate(byteCount: n).bindMemory(to: Bool.self, capacity: n)
    }

    @inlinable static func allocateIndex(_ n: Int) -> UnsafeMutablePointer<UInt64> {
        LargeMemory.allocate(byteCount: n * 8).bindMemory(to: UInt64.self, capacity: n)
    }

    @inlinable static func deallocateRing(_ entries: UnsafeMutablePointer<Entry>, _ live: UnsafeMutablePointer<Bool>, capacity: Int) {
        LargeMemory.deallocate(UnsafeMutableRawPointer(entries), byteCount: capacity * MemoryLayout<Entry>.stride)
        LargeMemory.deallocate(UnsafeMutableRawPointer(live), byteCount: capacity)
    }

    /// Makes an empty table room for `count` entries before its ring or its index grows,
    /// at once (a table restored from durable state is filled in one go).
    @inlinable public func reserveEmpty(_ count: Int) {
        precondition(self.count == 0 && used == 0, "ArrivalTable: reserveEmpty on a table that holds entries")
        guard count > ringCapacity else { return }
        Self.deallocateRing(entries, live, capacity: ringCapacity)
        LargeMemory.deallocate(UnsafeMutableRawPointer(index), byteCount: indexCapacity * 8)
        _ringCapacity = count
        _indexCapacity = max(16, Int((Double(ringCapacity) / Self.maxIndexLoad).rounded(.up)))
        entries = Self.allocateEntries(ringCapacity)
        live = Self.allocateFlags(ringCapacity)
        index = Self.allocateIndex(indexCapacity)
        head = 0
    }

    /// Bytes held by the ring and the index.
    @inlinable public var allocatedBytes: Int { ringCapacity * (MemoryLayout<Entry>.stride + 1) + indexCapacity * 8 }

    @inline(__always)
    @inlinable static func tag(_ h: UInt64) -> UInt64 { h >> 32 }

    /// The index slot where the probe for `tag` starts: ⌊tag × capacity / 2³²⌋.
    @inline(__always)
    @inlinable func home(_ tag: UInt64) -> Int { Int(truncatingIfNeeded: (tag &* UInt64(truncatingIfNeeded: indexCapacity)) >> 32) }

    /// The index slot after `i`, round the end.
    @inline(__always)
    @inlinable func after(_ i: Int) -> Int { i &+ 1 == indexCapacity ? 0 : i &+ 1 }

    /// The ring position after `p`, round the end.
    @inline(__always)
    @inlinable func successor(_ p: Int) -> Int { p &+ 1 == ringCapacity ? 0 : p &+ 1 }

    /// Asks the memory system for the index slot of a key whose `tableHash` is `h`, ahead
    /// of a `find` or `insert`. A hint: it changes nothing.
    @inline(__always)
    @inlinable public func prefetch(hash h: UInt64) {
        callsift_prefetch(index + home(Self.tag(h)))
    }

    /// Asks the memory system for the entry that a key whose `tableHash` is `h` probably
    /// has: the first one in its probe run with its tag. Reads the index, so call it a
    /// while after `prefetch(hash:)` for the same key, once that line has had time to
    /// arrive. A hint: it changes nothing.
    @inline(__always)
    @inlinable public func prefetchEntry(hash h: UInt64) {
        let t = Self.tag(h)
        var i = home(t)
        while true {
            let slot = index[i]
            if slot == 0 { return }
            if slot >> 32 == t {
                callsift_prefetch_bytes(entries + (Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) &- 1), MemoryLayout<Entry>.stride)
                return
            }
            i = after(i)
        }
    }

    /// The position of `key` (whose `tableHash` is `h`), or nil.
    @inline(__always)
    @inlinable public func find(_ key: Key, hash h: UInt64) -> Int? {
        assert(h == key.tableHash, "hash given for another key")
        let t = Self.tag(h)
        var i = home(t)
        while true {
            let slot = index[i]
            if slot == 0 { return nil }
            if slot >> 32 == t {
                let position = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) &- 1
                if entries[position].key == key { return position }
            }
            i = after(i)
        }
    }

    @inline(__always)
    @inlinable public func find(_ key: Key) -> Int? { find(key, hash: key.tableHash) }

    /// Inserts `key`, which must not be present, after every entry already in the ring;
    /// returns its position.
    /// Inlined, so that the caller's value is built where it goes rather than copied there.
    @inline(__always) @discardableResult
    @inlinable public func insert(_ key: Key, _ value: Value, hash h: UInt64) -> Int {
        assert(h == key.tableHash, "hash given for another key")
        assert(find(key, hash: h) == nil, "insert of a key already present")
        if used == ringCapacity { rebuild() }
        if Double(count + 1) > Double(indexCapacity) * Self.maxIndexLoad { growIndex() }
        var position = head &+ used
        if position >= ringCapacity { position &-= ringCapacity }
        (entries + position).initialize(to: Entry(key: key, value: value))
        // Entries are written at the tail in turn: ask for a later one's lines ahead.
        var ahead = position &+ 8
        if ahead >= ringCapacity { ahead &-= ringCapacity }
        callsift_prefetch_bytes(entries + ahead, MemoryLayout<Entry>.stride)
        live[position] = true
        used &+= 1
        _count &+= 1
        place(Self.tag(h) << 32 | UInt64(position &+ 1))
        return position
    }

    @discardableResult
    @inlinable public func insert(_ key: Key, _ value: Value) -> Int { insert(key, value, hash: key.tableHash) }

    /// Puts an index slot value at the first empty slot from its tag's home.
    @inline(__always)
    @inlinable func place(_ slot: UInt64) {
        var i = home(slot >> 32)
        while index[i] != 0 { i = after(i) }
        index[i] = slot
    }

    /// The value at `position` (which must hold an entry), read or updated in place.
    @inlinable public subscript(position: Int) -> Value {
        @inline(__always) unsafeAddress { UnsafePointer(valuePointer(position)) }
        @inline(__always) unsafeMutableAddress { valuePointer(position) }
    }

    /// Where the value at `position` lies, for a caller that reads it in place without
    /// copying it out; valid until the next `insert` or `remove`.
    @inline(__always)
    @inlinable public func valuePointer(_ position: Int) -> UnsafeMutablePointer<Value> {
        (UnsafeMutableRawPointer(entries + position) + MemoryLayout<Entry>.offset(of: \Entry.value)!).assumingMemoryBound(to: Value.self)
    }

    @inlinable public func key(at position: Int) -> Key { entries[position].key }

    /// Removes the entry at `position`, whose key's `tableHash` is `h`. No other entry moves.
    @inlinable public func remove(at position: Int, hash h: UInt64) {
        precondition(live[position], "remove of an empty position")
        assert(h == entries[position].key.tableHash, "hash given for another key")
        let target = Self.tag(h) << 32 | UInt64(position &+ 1)
        var hole = home(Self.tag(h))
        while index[hole] != target { hole = after(hole) }
        // Shift later slots of the probe run back into the hole when their home allows.
        var i = after(hole)
        while index[i] != 0 {
            let home = home(index[i] >> 32)
            let fromHomeToHole = hole >= home ? hole &- home : hole &+ indexCapacity &- home
            let fromHomeToI = i >= home ? i &- home : i &+ indexCapacity &- home
            if fromHomeToHole < fromHomeToI {
                index[hole] = index[i]
                hole = i
            }
            i = after(i)
        }
        index[hole] = 0
        (entries + position).deinitialize(count: 1)
        live[position] = false
        _count &-= 1
        // The holes at the front leave the ring.
        while used > 0 && !live[head] {
            head = successor(head)
            used &-= 1
        }
    }

    @inlinable public func remove(at position: Int) { remove(at: position, hash: entries[position].key.tableHash) }

    /// Calls `body` with every entry, oldest first.
    @inlinable public func forEach(_ body: (Key, Value) throws -> Void) rethrows {
        var p = head
        for _ in 0..<used {
            if live[p] { try body(entries[p].key, entries[p].value) }
            p = successor(p)
        }
    }

    /// The ring is full (holes included). If its live entries fill more than half of it,
    /// it doubles in place; otherwise they are compacted in place, in order. Either way the
    /// index is rebuilt.
    @inlinable func rebuild() {
        if count * 2 > ringCapacity { growRing() } else { compactRing() }
        index.initialize(repeating: 0, count: indexCapacity)
        var p = head
        for _ in 0..<used {
            if live[p] { place(Self.tag(entries[p].key.tableHash) << 32 | UInt64(p &+ 1)) }
            p = successor(p)
        }
    }

    /// Doubles the ring where it lies (`LargeMemory.reallocate`: remapped once it is big,
    /// so the old entries are neither copied nor touched, and only new pages are zeroed).
    /// The full ring runs from `head` to the old end and on from 0 to `head`; that second
    /// part moves up to just past the old end, so the ring no longer wraps.
    @inlinable func growRing() {
        let old = ringCapacity
        let stride = MemoryLayout<Entry>.stride
        entries = LargeMemory.reallocate(
            UnsafeMutableRawPointer(entries), from: old * stride, to: 2 * old * stride,
            alignment: max(64, MemoryLayout<Entry>.alignment)
        )
        .bindMemory(to: Entry.self, capacity: 2 * old)
        live = LargeMemory.reallocate(UnsafeMutableRawPointer(live), from: old, to: 2 * old)
            .bindMemory(to: Bool.self, capacity: 2 * old)
        for p in 0..<head where live[p] {
            (entries + old + p).moveInitialize(from: entries + p, count: 1)
            live[old + p] = true
            live[p] = false
        }
        _ringCapacity = 2 * old
    }

    /// Moves the live entries, in order, back over the holes, in place: the ring keeps its
    /// `head` and its memory (a new ring would be zeroed page by page as it is written).
    /// The writing position never passes the reading one, so no entry is overwritten
    /// before it has moved.
    @inlinable func compactRing() {
        var read = head, write = head, n = 0
        for _ in 0..<used {
            if live[read] {
                if read != write {
                    (entries + write).moveInitialize(from: entries + read, count: 1)
                    live[write] = true
                    live[read] = false
                }
                write = successor(write)
                n &+= 1
            }
            read = successor(read)
        }
        used = n
    }

    /// The index doubles; its slots are placed again from their tags (no key is read).
    @inlinable func growIndex() {
        let old = index, oldCapacity = indexCapacity
        _indexCapacity = oldCapacity * 2
        index = Self.allocateIndex(indexCapacity)
        for i in 0..<oldCapacity where old[i] != 0 { place(old[i]) }
        LargeMemory.deallocate(UnsafeMutableRawPointer(old), byteCount: oldCapacity * 8)
    }

    /// Checks every invariant; for tests, after every mutation:
    /// - the live positions all lie within the `used` slots from `head`, and the first of
    ///   those is live; `count` is their number;
    /// - every live entry is in the index exactly once, with its key's tag, reachable from
    ///   the tag's home with no empty slot in between; the index holds nothing else;
    /// - no key appears twice; the index is at most half full.
    @inlinable public func checkInvariants() {
        var inUse = [Bool](repeating: false, count: ringCapacity)
        var p = head
        for _ in 0..<used {
            inUse[p] = true
            p = successor(p)
        }
        var n = 0
        for i in 0..<ringCapacity where live[i] {
            precondition(inUse[i], "live entry at \(i) outside the ring's used slots")
            n += 1
        }
        precondition(n == count, "count \(count) but \(n) live entries")
        precondition(used == 0 || live[head], "hole at the head")
        var indexed = 0
        for i in 0..<indexCapacity where index[i] != 0 {
            indexed += 1
            let position = Int(index[i] & 0xFFFF_FFFF) - 1
            precondition(position >= 0 && position < ringCapacity && live[position], "index slot \(i) names no entry")
            let h = entries[position].key.tableHash
            precondition(index[i] >> 32 == Self.tag(h), "tag mismatch at index slot \(i)")
            var j = home(Self.tag(h))
            while j != i {
                precondition(index[j] != 0, "gap between home and index slot \(i)")
                if index[j] >> 32 == Self.tag(h) {
                    let other = Int(index[j] & 0xFFFF_FFFF) - 1
                    precondition(!(entries[other].key == entries[position].key), "key twice")
                }
                j = after(j)
            }
        }
        precondition(indexed == count, "index holds \(indexed) slots for \(count) entries")
        precondition(Double(count) <= Double(indexCapacity) * Self.maxIndexLoad)
    }
}
