import CPrefetch

/// A key for `ShardTable`: plain value, equality, and a well-mixed 64-bit hash.
public protocol ShardTableKey: Equatable {
    /// All 64 bits should be well mixed: the low bits pick the slot, the top 7 are kept
    /// as a tag that rejects most non-matching slots without comparing keys.
    var tableHash: UInt64 { get }
}

/// An open-addressing hash table of fixed-size entries, owned by one shard.
///
/// Linear probing over a power-of-two number of slots; deletion shifts later entries of
/// the probe run back (no tombstones), so lookups never slow down as entries come and go.
/// Each slot holds its key and value side by side in one flat, preallocated buffer, so a
/// lookup that finds its key has its value in the same cache lines; a second, one-byte
/// tag per slot (`tags`, small enough to stay in cache) rejects most non-matching slots
/// without touching the entries. No object per entry, nothing allocated on the hot path
/// except when the table grows (see `maxLoad`).
///
/// The tables of a run are far larger than the caches (calls stay for the call timeout,
/// caller scopes for the windows), so nearly every lookup misses. A stage that knows its
/// next keys calls `prefetch` a few keys ahead, and the misses overlap.
///
/// Slot numbers are stable until the next `insert` or `remove`.
///
/// Not thread-safe: one shard owns it; other threads reach it only through that shard's ring.
public final class ShardTable<Key: ShardTableKey, Value> {
    /// Grow when more than this share of slots is used. 3/4 keeps probe runs short while
    /// costing at most 1/0.375 slots per entry right after growing.
    public static var maxLoad: Double { 0.75 }

    struct Entry {
        var key: Key
        var value: Value
    }

    private var entries: UnsafeMutablePointer<Entry>
    /// 0: empty; otherwise 0x80 | top 7 bits of the key's hash.
    private var tags: UnsafeMutablePointer<UInt8>
    private var mask: Int
    /// Byte offset of `value` within an entry.
    private let valueOffset = MemoryLayout<Entry>.offset(of: \Entry.value)!
    public private(set) var count = 0

    public init(minimumCapacity: Int = 16) {
        var cap = 16
        while Double(cap) * Self.maxLoad < Double(minimumCapacity) { cap <<= 1 }
        precondition(cap & (cap - 1) == 0)
        mask = cap - 1
        entries = Self.allocateEntries(cap)
        tags = .allocate(capacity: cap)
        tags.initialize(repeating: 0, count: cap)
    }

    deinit {
        for i in 0 ... mask where tags[i] != 0 { (entries + i).deinitialize(count: 1) }
        entries.deallocate(); tags.deallocate()
    }

    /// Entries start on a cache line, so an entry of up to 64 bytes whose stride divides
    /// 64 never straddles two.
    private static func allocateEntries(_ count: Int) -> UnsafeMutablePointer<Entry> {
        UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Entry>.stride,
                                         alignment: max(64, MemoryLayout<Entry>.alignment))
            .bindMemory(to: Entry.self, capacity: count)
    }

    public var capacity: Int { mask + 1 }

    /// Bytes held by the table's buffers.
    public var allocatedBytes: Int { capacity * (MemoryLayout<Entry>.stride + 1) }

    @inline(__always)
    private static func tag(_ h: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: h >> 57) | 0x80 }

    /// Asks the memory system for `key`'s home slot (its tag and entry) ahead of a
    /// `find` or `insert` of it. A hint: it changes nothing.
    @inline(__always)
    public func prefetch(_ key: Key) {
        let i = Int(truncatingIfNeeded: key.tableHash) & mask
        callsift_prefetch(tags + i)
        let entry = UnsafeRawPointer(entries + i)
        callsift_prefetch(entry)
        // A large entry spans further lines; fetch those it reaches too (up to 4 lines).
        var offset = 64
        while offset < MemoryLayout<Entry>.stride && offset < 256 {
            callsift_prefetch(entry + offset)
            offset += 64
        }
    }

    /// The slot holding `key`, or nil.
    ///
    /// - Complexity: O(1) expected.
    @inline(__always)
    public func find(_ key: Key) -> Int? {
        let h = key.tableHash
        let t = Self.tag(h)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = tags[i]
            if s == 0 { return nil }
            if s == t && entries[i].key == key { return i }
            i = (i + 1) & mask
        }
    }

    /// Inserts `key`, which must not be present, and returns its slot.
    @discardableResult
    public func insert(_ key: Key, _ value: Value) -> Int {
        if Double(count + 1) > Double(capacity) * Self.maxLoad { grow() }
        let h = key.tableHash
        var i = Int(truncatingIfNeeded: h) & mask
        while tags[i] != 0 {
            assert(!(entries[i].key == key), "insert of a key already present")
            i = (i + 1) & mask
        }
        tags[i] = Self.tag(h)
        (entries + i).initialize(to: Entry(key: key, value: value))
        count += 1
        return i
    }

    /// The value in `slot` (which must hold an entry), read or updated in place.
    public subscript(slot: Int) -> Value {
        @inline(__always) unsafeAddress { UnsafePointer(valuePointer(slot)) }
        @inline(__always) unsafeMutableAddress { valuePointer(slot) }
    }

    @inline(__always)
    private func valuePointer(_ slot: Int) -> UnsafeMutablePointer<Value> {
        (UnsafeMutableRawPointer(entries + slot) + valueOffset).assumingMemoryBound(to: Value.self)
    }

    public func key(at slot: Int) -> Key { entries[slot].key }

    /// Removes the entry in `slot`, shifting later entries of its probe run back so that
    /// every remaining key stays reachable from its home slot without gaps.
    public func remove(at slot: Int) {
        precondition(tags[slot] != 0)
        (entries + slot).deinitialize(count: 1)
        var hole = slot
        var i = (slot + 1) & mask
        while tags[i] != 0 {
            let home = Int(truncatingIfNeeded: entries[i].key.tableHash) & mask
            // Move entry i into the hole if its home is not cyclically within (hole, i].
            let distanceToI = (i - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole < distanceToI {
                (entries + hole).moveInitialize(from: entries + i, count: 1)
                tags[hole] = tags[i]
                hole = i
            }
            i = (i + 1) & mask
        }
        tags[hole] = 0
        count -= 1
    }

    /// Keeps only the entries for which `keep` is true.
    ///
    /// - Complexity: O(capacity).
    public func removeAll(where remove: (Key, Value) -> Bool) {
        var i = 0
        // Removing shifts later entries back into slot i, so look at i again before moving
        // on. Entries only ever move towards lower slots (or wrap from the front to the
        // back, where they are simply seen twice), so none is skipped.
        while i <= mask {
            if tags[i] != 0 && remove(entries[i].key, entries[i].value) {
                self.remove(at: i)
                continue
            }
            i += 1
        }
    }

    /// Calls `body` with every entry, in slot order.
    public func forEach(_ body: (Key, Value) throws -> Void) rethrows {
        for i in 0 ... mask where tags[i] != 0 { try body(entries[i].key, entries[i].value) }
    }

    private func grow() {
        let oldEntries = entries, oldTags = tags, oldCap = mask + 1
        let cap = oldCap << 1
        entries = Self.allocateEntries(cap)
        tags = .allocate(capacity: cap)
        tags.initialize(repeating: 0, count: cap)
        mask = cap - 1
        for j in 0 ..< oldCap where oldTags[j] != 0 {
            var i = Int(truncatingIfNeeded: oldEntries[j].key.tableHash) & mask
            while tags[i] != 0 { i = (i + 1) & mask }
            tags[i] = oldTags[j]
            (entries + i).moveInitialize(from: oldEntries + j, count: 1)
        }
        oldEntries.deallocate(); oldTags.deallocate()
    }

    /// Checks every invariant; for tests, after every mutation.
    /// - count matches the occupied slots;
    /// - every key is found from its home slot with no empty slot in between;
    /// - tags match the keys' hashes; no key appears twice; the load bound holds.
    public func checkInvariants() {
        var n = 0
        for i in 0 ... mask where tags[i] != 0 {
            n += 1
            let h = entries[i].key.tableHash
            precondition(tags[i] == Self.tag(h), "tag mismatch at \(i)")
            var j = Int(truncatingIfNeeded: h) & mask
            while j != i {
                precondition(tags[j] != 0, "gap between home \(Int(truncatingIfNeeded: h) & mask) and slot \(i)")
                precondition(!(entries[j].key == entries[i].key), "key twice, at \(j) and \(i)")
                j = (j + 1) & mask
            }
        }
        precondition(n == count, "count \(count) but \(n) entries")
        precondition(Double(count) <= Double(capacity) * Self.maxLoad)
    }
}

/// A 64-bit finaliser (Stafford's variant 13 of MurmurHash3's fmix64): fast, and every
/// input bit affects every output bit, which linear probing and the tags rely on.
@inline(__always)
public func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
