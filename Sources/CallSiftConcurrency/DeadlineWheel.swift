import HeapModule

/// Deadlines bucketed by time (a timing wheel), for a stage that must act on every entry
/// whose deadline the watermark has passed.
///
/// Deadlines here are event times plus a fixed timeout, and events arrive in nearly
/// increasing time, so a binary heap's O(log n) per entry is wasted: a wheel of buckets,
/// each covering `1 << shift` milliseconds, takes an entry in O(1) and hands back the due
/// ones bucket by bucket. Entries further ahead than the wheel spans wait in a heap and
/// move into the wheel as the watermark approaches. Within a bucket entries come back in
/// no particular order; callers must not depend on it.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
public final class DeadlineWheel<Item> {
    @usableFromInline struct Far: Comparable {
        @usableFromInline var at: Int64
        @usableFromInline var seq: Int
        @usableFromInline var item: Item
        @inlinable init(at: Int64, seq: Int, item: Item) {
            self.at = at
            self.seq = seq
            self.item = item
        }
        @inlinable static func < (a: Far, b: Far) -> Bool { a.at != b.at ? a.at < b.at : a.seq < b.seq }
        @inlinable static func == (a: Far, b: Far) -> Bool { a.at == b.at && a.seq == b.seq }
    }

    /// One bucket's entries: a chain of chunks of `chunkSize` entries from the shared
    /// pool, all full but the last, which holds `tailFill`. Pushing is a store, with no
    /// array's uniqueness check per entry; a bucket that empties gives its chunks back,
    /// so the pool holds about the entries waiting (plus a part-filled chunk per bucket),
    /// not every bucket's busiest hour, which storage kept per bucket would.
    @usableFromInline struct Bucket {
        @usableFromInline var head: Int32 = -1
        @usableFromInline var tail: Int32 = -1
        @usableFromInline var tailFill = 0
        @usableFromInline var count = 0
        @inlinable init() {}
    }

    @usableFromInline typealias Entry = (at: Int64, item: Item)
    @inlinable static var chunkSize: Int { 32 }

    @usableFromInline let shift: Int64
    @usableFromInline let buckets: UnsafeMutablePointer<Bucket>
    @usableFromInline let bucketCount: Int
    @usableFromInline let mask: Int64
    /// The chunks: chunk c holds entries `pool[c * chunkSize ..< (c + 1) * chunkSize]`.
    @usableFromInline @exclusivity(unchecked) var pool: UnsafeMutablePointer<Entry>
    /// Per chunk, the next chunk of its bucket (or of the free list); -1 at the end.
    @usableFromInline @exclusivity(unchecked) var next: UnsafeMutablePointer<Int32>
    @usableFromInline @exclusivity(unchecked) var chunkCapacity = 64
    /// Chunks ever handed out; those at and above this index are untouched.
    @usableFromInline @exclusivity(unchecked) var chunksMade = 0
    /// Chunks given back, linked through `next`.
    @usableFromInline @exclusivity(unchecked) var free: Int32 = -1
    /// The entries of the bucket at the limit that are not yet due, while it is rebuilt.
    @usableFromInline @exclusivity(unchecked) var kept: [Entry] = []
    /// Every bucket before this one is empty.
    @usableFromInline @exclusivity(unchecked) var base: Int64 = .min
    @usableFromInline @exclusivity(unchecked) var far = Heap<Far>()
    @usableFromInline @exclusivity(unchecked) var seq = 0
    @inlinable public var count: Int { _count }
    @usableFromInline @exclusivity(unchecked) var _count = 0

    /// - Parameters:
    ///   - span: how far ahead of the watermark (ms) deadlines usually fall.
    ///   - shift: log2 of a bucket's width in ms.
    public init(span: Int64, shift: Int64 = 10) {
        self.shift = shift
        var n: Int64 = 1
        while n << shift < span * 2 { n <<= 1 }
        mask = n - 1
        bucketCount = Int(n)
        buckets = .allocate(capacity: bucketCount)
        buckets.initialize(repeating: Bucket(), count: bucketCount)
        pool = Self.allocatePool(chunkCapacity)
        next = LargeMemory.allocate(byteCount: chunkCapacity * 4).bindMemory(to: Int32.self, capacity: chunkCapacity)
    }

    deinit {
        for i in 0..<bucketCount { release(i, into: nil) }
        LargeMemory.deallocate(UnsafeMutableRawPointer(pool), byteCount: chunkCapacity * Self.chunkSize * MemoryLayout<Entry>.stride)
        LargeMemory.deallocate(UnsafeMutableRawPointer(next), byteCount: chunkCapacity * 4)
        buckets.deallocate()
    }

    @inlinable static func allocatePool(_ chunks: Int) -> UnsafeMutablePointer<Entry> {
        LargeMemory.allocate(byteCount: chunks * chunkSize * MemoryLayout<Entry>.stride, alignment: max(64, MemoryLayout<Entry>.alignment))
            .bindMemory(to: Entry.self, capacity: chunks * chunkSize)
    }

    /// Appends to bucket `i`, taking a new chunk when its last is full.
    @inline(__always)
    @inlinable func append(_ entry: Entry, to i: Int) {
        if buckets[i].tail < 0 || buckets[i].tailFill == Self.chunkSize {
            let c = takeChunk()
            if buckets[i].tail < 0 { buckets[i].head = c } else { next[Int(buckets[i].tail)] = c }
            buckets[i].tail = c
            buckets[i].tailFill = 0
        }
        (pool + (Int(buckets[i].tail) &* Self.chunkSize &+ buckets[i].tailFill)).initialize(to: entry)
        buckets[i].tailFill &+= 1
        buckets[i].count &+= 1
    }

    /// A chunk off the free list, or a new one (the pool doubles in place when full).
    @inlinable func takeChunk() -> Int32 {
        let c: Int32
        if free >= 0 {
            c = free
            free = next[Int(c)]
        } else {
            if chunksMade == chunkCapacity {
                let stride = Self.chunkSize * MemoryLayout<Entry>.stride
                pool = LargeMemory.reallocate(
                    UnsafeMutableRawPointer(pool), from: chunkCapacity * stride, to: 2 * chunkCapacity * stride,
                    alignment: max(64, MemoryLayout<Entry>.alignment)
                )
                .bindMemory(to: Entry.self, capacity: 2 * chunkCapacity * Self.chunkSize)
                next = LargeMemory.reallocate(UnsafeMutableRawPointer(next), from: chunkCapacity * 4, to: 2 * chunkCapacity * 4)
                    .bindMemory(to: Int32.self, capacity: 2 * chunkCapacity)
                chunkCapacity *= 2
            }
            c = Int32(chunksMade)
            chunksMade += 1
        }
        next[Int(c)] = -1
        return c
    }

    /// Empties bucket `i`, copying its entries into `due` (if given) in chain order, and
    /// gives its chunks back.
    @inlinable func release(_ i: Int, into due: UnsafeMutablePointer<[Entry]>?) {
        var c = buckets[i].head
        while c >= 0 {
            let n = c == buckets[i].tail ? buckets[i].tailFill : Self.chunkSize
            let entries = pool + Int(c) &* Self.chunkSize
            due?.pointee.append(contentsOf: UnsafeBufferPointer(start: entries, count: n))
            entries.deinitialize(count: n)
            let after = next[Int(c)]
            next[Int(c)] = free
            free = c
            c = after
        }
        buckets[i] = Bucket()
    }

    @inlinable public var isEmpty: Bool { count == 0 }

    @inlinable public func push(_ at: Int64, _ item: Item) {
        _count += 1
        let b = at >> shift
        if base == .min { base = b }
        if b < base {
            // Already due: it goes into the current bucket, which is looked at next.
            append((at, item), to: Int(base & mask))
        } else if b - base <= mask {
            append((at, item), to: Int(b & mask))
        } else {
            seq += 1
            far.insert(Far(at: at, seq: seq, item: item))
        }
    }

    /// Moves entries with a deadline below `limit` into `due`, which must be empty, a
    /// bucket at a time, and returns false once none is left; call again until it returns
    /// false. (`due` keeps its capacity from call to call, so nothing is allocated.)
    ///
    /// Callers may push new entries between calls, including already due ones (a deadline
    /// reached while handling the due ones): those come back in a later call.
    @inlinable public func takeDue(before limit: Int64, into due: inout [(at: Int64, item: Item)]) -> Bool {
        precondition(due.isEmpty, "takeDue into a non-empty array")
        guard count > 0, base != .min, limit != .min else { return false }
        let last = limit == .max ? Int64.max : (limit - 1) >> shift
        while count > 0 {
            // Bring far entries that now fall inside the wheel's window.
            while let f = far.min, (f.at >> shift) - base <= mask {
                far.removeMin()
                append((f.at, f.item), to: Int(max(f.at >> shift, base) & mask))
            }
            let i = Int(base & mask)
            if base < last {
                let taken = buckets[i].count
                if taken > 0 {
                    _count -= taken
                    withUnsafeMutablePointer(to: &due) { release(i, into: $0) }
                }
                if count == far.count, let f = far.min {
                    // Only far entries are left: jump ahead instead of stepping bucket by bucket.
                    base = max(base + 1, f.at >> shift)
                } else {
                    base += 1
                }
                if taken > 0 { return true }
            } else {
                // The bucket holding the limit (or, before the first limit reached it, the
                // first bucket, which also holds entries pushed with earlier deadlines):
                // take only what is due, and stay here. Its entries are taken out and
                // those not due go back in.
                kept.removeAll(keepingCapacity: true)
                let before = due.count
                withUnsafeMutablePointer(to: &kept) { release(i, into: $0) }
                for e in kept {
                    if e.at < limit { due.append(e) } else { append(e, to: i) }
                }
                _count -= due.count - before
                kept.removeAll(keepingCapacity: true)
                return !due.isEmpty
            }
        }
        return false
    }
}
