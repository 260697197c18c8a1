/// Deadlines bucketed by time (a timing wheel), for a stage that must act on every entry
/// whose deadline the watermark has passed.
///
/// Deadlines here are event times plus a fixed timeout, and events arrive in nearly
/// increasing time, so a binary heap's O(log n) per entry is wasted: a wheel of buckets,
/// each covering `1 << shift` milliseconds, takes an entry in O(1) and hands back the due
/// ones bucket by bucket. Entries further ahead than the wheel spans wait in a heap and
/// move into the wheel as the watermark approaches. Within a bucket entries come back in
/// no particular order; callers must not depend on it.
public final class DeadlineWheel<Item> {
    struct Far: Comparable {
        var at: Int64
        var seq: Int
        var item: Item
        static func < (a: Far, b: Far) -> Bool { a.at != b.at ? a.at < b.at : a.seq < b.seq }
        static func == (a: Far, b: Far) -> Bool { a.at == b.at && a.seq == b.seq }
    }

    /// One bucket's entries, in storage of its own that is kept (and grows) across
    /// uses: pushing is a store, with no array's uniqueness check per entry.
    struct Bucket {
        var entries: UnsafeMutablePointer<(at: Int64, item: Item)>? = nil
        var count = 0
        var capacity = 0
    }

    private let shift: Int64
    private let buckets: UnsafeMutablePointer<Bucket>
    private let bucketCount: Int
    private let mask: Int64
    /// Every bucket before this one is empty.
    private var base: Int64 = .min
    private var far: [Far] = []
    private var seq = 0
    public private(set) var count = 0

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
    }

    deinit {
        for i in 0 ..< bucketCount {
            if let e = buckets[i].entries {
                e.deinitialize(count: buckets[i].count)
                e.deallocate()
            }
        }
        buckets.deallocate()
    }

    /// Appends to bucket `i`, doubling its storage when full.
    @inline(__always)
    private func append(_ entry: (at: Int64, item: Item), to i: Int) {
        if buckets[i].count == buckets[i].capacity { grow(i) }
        (buckets[i].entries! + buckets[i].count).initialize(to: entry)
        buckets[i].count &+= 1
    }

    private func grow(_ i: Int) {
        let capacity = max(16, buckets[i].capacity * 2)
        let entries = UnsafeMutablePointer<(at: Int64, item: Item)>.allocate(capacity: capacity)
        if let old = buckets[i].entries {
            entries.moveInitialize(from: old, count: buckets[i].count)
            old.deallocate()
        }
        buckets[i].entries = entries
        buckets[i].capacity = capacity
    }

    public var isEmpty: Bool { count == 0 }

    public func push(_ at: Int64, _ item: Item) {
        count += 1
        let b = at >> shift
        if base == .min { base = b }
        if b < base {
            // Already due: it goes into the current bucket, which is looked at next.
            append((at, item), to: Int(base & mask))
        } else if b - base <= mask {
            append((at, item), to: Int(b & mask))
        } else {
            seq += 1
            farPush(Far(at: at, seq: seq, item: item))
        }
    }

    /// Moves entries with a deadline below `limit` into `due`, which must be empty, a
    /// bucket at a time, and returns false once none is left; call again until it returns
    /// false. (`due` keeps its capacity from call to call, so nothing is allocated.)
    ///
    /// Callers may push new entries between calls, including already due ones (a deadline
    /// reached while handling the due ones): those come back in a later call.
    public func takeDue(before limit: Int64, into due: inout [(at: Int64, item: Item)]) -> Bool {
        precondition(due.isEmpty, "takeDue into a non-empty array")
        guard count > 0, base != .min, limit != .min else { return false }
        let last = limit == .max ? Int64.max : (limit - 1) >> shift
        while count > 0 {
            // Bring far entries that now fall inside the wheel's window.
            while let f = far.first, (f.at >> shift) - base <= mask {
                farPop()
                append((f.at, f.item), to: Int(max(f.at >> shift, base) & mask))
            }
            let i = Int(base & mask)
            if base < last {
                let taken = buckets[i].count
                if taken > 0 {
                    count -= taken
                    let entries = buckets[i].entries!
                    due.append(contentsOf: UnsafeBufferPointer(start: entries, count: taken))
                    entries.deinitialize(count: taken)
                    buckets[i].count = 0
                }
                if count == far.count, let f = far.first {
                    // Only far entries are left: jump ahead instead of stepping bucket by bucket.
                    base = max(base + 1, f.at >> shift)
                } else {
                    base += 1
                }
                if taken > 0 { return true }
            } else {
                // The bucket holding the limit (or, before the first limit reached it, the
                // first bucket, which also holds entries pushed with earlier deadlines):
                // take only what is due, and stay here.
                var kept = 0
                if let entries = buckets[i].entries {
                    for j in 0 ..< buckets[i].count {
                        if entries[j].at < limit {
                            due.append(entries[j])
                            count -= 1
                        } else {
                            if kept != j { entries[kept] = entries[j] }
                            kept += 1
                        }
                    }
                    (entries + kept).deinitialize(count: buckets[i].count - kept)
                }
                buckets[i].count = kept
                return !due.isEmpty
            }
        }
        return false
    }

    private func farPush(_ e: Far) {
        far.append(e)
        var i = far.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if !(far[i] < far[p]) { break }
            far.swapAt(i, p); i = p
        }
    }

    private func farPop() {
        far.swapAt(0, far.count - 1)
        far.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < far.count && far[l] < far[m] { m = l }
            if r < far.count && far[r] < far[m] { m = r }
            if m == i { return }
            far.swapAt(i, m); i = m
        }
    }
}
