/// Fixed-size records addressed by `Int32` index, recycled through a free list.
///
/// Used where a stage keeps a variable number of small records per key (the events of a
/// call in progress): records live in one flat buffer that only grows, by doubling, so
/// the steady state allocates nothing, and links between records are indices rather
/// than references.
///
/// Not thread-safe: owned by one shard.
///
/// The subscript and `release` are unchecked in release builds (a record is reached in a
/// call's event chain for every event). Debug builds check every use: an index in
/// `0 ..< used` for the subscript and `release`, no record released twice, none read or
/// written after its release; a broken rule traps there. The checks are `assert`s whose
/// conditions keep a bitmap of live records (`debugLive`), so in `-O` builds, where an
/// `assert`'s condition is not evaluated, the bitmap stays empty and nothing is spent.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
public final class SlabPool<Element> {
    @usableFromInline @exclusivity(unchecked) var storage: UnsafeMutablePointer<Element>
    @usableFromInline @exclusivity(unchecked) var capacity: Int
    @usableFromInline @exclusivity(unchecked) var used = 0
    /// Indices of freed records (their contents are deinitialised).
    @usableFromInline @exclusivity(unchecked) var free: [Int32] = []
    /// Debug builds only: bit i set while record i is live (allocated, not released).
    /// Kept by the conditions of `assert`s, so it stays empty in `-O` builds.
    @usableFromInline @exclusivity(unchecked) var debugLive: [UInt64] = []

    public init(capacity: Int = 1 << 12) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    deinit {
        // Every record ever handed out and not freed is still initialised.
        var isFree = [Bool](repeating: false, count: used)
        for i in free { isFree[Int(i)] = true }
        for i in 0..<used where !isFree[i] { (storage + i).deinitialize(count: 1) }
        storage.deallocate()
    }

    /// Records in use.
    @inlinable public var count: Int { used - free.count }

    @inline(__always)
    @inlinable public func allocate(_ e: Element) -> Int32 {
        if let i = free.popLast() {
            assert(debugNoteAllocated(i), "SlabPool: a free record was live")
            (storage + Int(i)).initialize(to: e)
            return i
        }
        if used == capacity { grow() }
        (storage + used).initialize(to: e)
        used += 1
        assert(debugNoteAllocated(Int32(used - 1)), "SlabPool: a new record was live")
        return Int32(used - 1)
    }

    /// Deinitialises record `i` and frees it for reuse. `i` must be live: allocated and not
    /// released since (checked in debug builds).
    @inline(__always)
    @inlinable public func release(_ i: Int32) {
        assert(i >= 0 && Int(i) < used, "SlabPool.release: index out of range")
        assert(debugNoteReleased(i), "SlabPool.release: record released twice")
        (storage + Int(i)).deinitialize(count: 1)
        free.append(i)
    }

    /// Record `i`, which must be live: allocated and not released since (checked in debug
    /// builds).
    @inlinable public subscript(i: Int32) -> Element {
        @inline(__always) unsafeAddress {
            assert(i >= 0 && Int(i) < used, "SlabPool: index out of range")
            assert(debugIsLive(i), "SlabPool: read of a released record")
            return UnsafePointer(storage + Int(i))
        }
        @inline(__always) unsafeMutableAddress {
            assert(i >= 0 && Int(i) < used, "SlabPool: index out of range")
            assert(debugIsLive(i), "SlabPool: write to a released record")
            return storage + Int(i)
        }
    }

    // MARK: Debug checks (called only from the conditions of `assert`)

    /// Whether record `i` is live (`i` in `0 ..< used`).
    @usableFromInline func debugIsLive(_ i: Int32) -> Bool {
        let word = Int(i) >> 6
        return word < debugLive.count && debugLive[word] & (1 << UInt64(i & 63)) != 0
    }

    /// Marks record `i` live; false if it already was.
    @usableFromInline func debugNoteAllocated(_ i: Int32) -> Bool {
        let word = Int(i) >> 6
        if word >= debugLive.count { debugLive.append(contentsOf: repeatElement(0, count: word + 1 - debugLive.count)) }
        let bit: UInt64 = 1 << UInt64(i & 63)
        defer { debugLive[word] |= bit }
        return debugLive[word] & bit == 0
    }

    /// Marks record `i` released; false if it was not live (released twice, say).
    @usableFromInline func debugNoteReleased(_ i: Int32) -> Bool {
        guard debugIsLive(i) else { return false }
        debugLive[Int(i) >> 6] &= ~(1 << UInt64(i & 63))
        return true
    }

    @inlinable func grow() {
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: storage, count: used)
        storage.deallocate()
        storage = bigger
        capacity *= 2
    }
}
