/// Deadlines bucketed by time (a timing wheel), for a stage that must act on every entry
/// whose deadline the watermark has passed.
///
/// Deadlines here are event times plus a fixed timeout, and events arrive in nearly
/// increasing time, so a binary heap's O(log n) per entry is wasted: a wheel of buckets,
/// each covering `1 << shift` milliseconds, takes an entry in O(1) and hands back the due
/// ones bucket by bucket. Entries further ahead than the wheel spans wait in a heap and
/// move into the wheel as the watermark approaches. Within a bucket entries come back in
/// no particular order; callers must not depend on it.
public struct DeadlineWheel<Item> {
    struct Far: Comparable {
        var at: Int64
        var seq: Int
        var item: Item
        static func < (a: Far, b: Far) -> Bool { a.at != b.at ? a.at < b.at : a.seq < b.seq }
        static func == (a: Far, b: Far) -> Bool { a.at == b.at && a.seq == b.seq }
    }

    private let shift: Int64
    private var buckets: [[(at: Int64, item: Item)]]
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
        buckets = Array(repeating: [], count: Int(n))
    }

    public var isEmpty: Bool { count == 0 }

    public mutating func push(_ at: Int64, _ item: Item) {
        count += 1
        let b = at >> shift
        if base == .min { base = b }
        if b < base {
            // Already due: it goes into the current bucket, which is looked at next.
            buckets[Int(base & mask)].append((at, item))
        } else if b - base <= mask {
            buckets[Int(b & mask)].append((at, item))
        } else {
            seq += 1
            farPush(Far(at: at, seq: seq, item: item))
        }
    }

    /// Moves entries with a deadline below `limit` into `due`, which must be empty, a
    /// bucket at a time, and returns false once none is left. A bucket that is wholly due
    /// trades its storage with `due`'s, so nothing is copied; call again until it returns
    /// false.
    ///
    /// Callers may push new entries between calls, including already due ones (a deadline
    /// reached while handling the due ones): those come back in a later call.
    public mutating func takeDue(before limit: Int64, into due: inout [(at: Int64, item: Item)]) -> Bool {
        precondition(due.isEmpty, "takeDue into a non-empty array")
        guard count > 0, base != .min, limit != .min else { return false }
        let last = limit == .max ? Int64.max : (limit - 1) >> shift
        while count > 0 {
            // Bring far entries that now fall inside the wheel's window.
            while let f = far.first, (f.at >> shift) - base <= mask {
                farPop()
                buckets[Int(max(f.at >> shift, base) & mask)].append((f.at, f.item))
            }
            let i = Int(base & mask)
            if base < last {
                let taken = buckets[i].count
                if taken > 0 {
                    count -= taken
                    swap(&due, &buckets[i])
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
                for e in buckets[i] {
                    if e.at < limit { due.append(e); count -= 1 } else { buckets[i][kept] = e; kept += 1 }
                }
                buckets[i].removeLast(buckets[i].count - kept)
                return !due.isEmpty
            }
        }
        return false
    }

    private mutating func farPush(_ e: Far) {
        far.append(e)
        var i = far.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if !(far[i] < far[p]) { break }
            far.swapAt(i, p); i = p
        }
    }

    private mutating func farPop() {
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
