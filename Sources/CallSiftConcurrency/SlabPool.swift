/// Fixed-size records addressed by `Int32` index, recycled through a free list.
///
/// Used where a stage keeps a variable number of small records per key (the events of a
/// call in progress): records live in one flat buffer that only grows, by doubling, so
/// the steady state allocates nothing, and links between records are indices rather
/// than references.
///
/// Not thread-safe: owned by one shard.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
public final class SlabPool<Element> {
    @usableFromInline @exclusivity(unchecked) var storage: UnsafeMutablePointer<Element>
    @usableFromInline @exclusivity(unchecked) var capacity: Int
    @usableFromInline @exclusivity(unchecked) var used = 0
    /// Indices of freed records (their contents are deinitialised).
    @usableFromInline @exclusivity(unchecked) var free: [Int32] = []

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
            (storage + Int(i)).initialize(to: e)
            return i
        }
        if used == capacity { grow() }
        (storage + used).initialize(to: e)
        used += 1
        return Int32(used - 1)
    }

    @inline(__always)
    @inlinable public func release(_ i: Int32) {
        (storage + Int(i)).deinitialize(count: 1)
        free.append(i)
    }

    @inlinable public subscript(i: Int32) -> Element {
        @inline(__always) unsafeAddress { UnsafePointer(storage + Int(i)) }
        @inline(__always) unsafeMutableAddress { storage + Int(i) }
    }

    @inlinable func grow() {
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: storage, count: used)
        storage.deallocate()
        storage = bigger
        capacity *= 2
    }
}
