import HeapModule

/// A minimum of `Int64` values kept lazily: entries are pushed freely and checked for
/// validity only when they come to the top, where stale ones are dropped.
///
/// An adapter pushes the times of records that come nearly in order, so most pushes are
/// at least the last one pushed in order: those go to a queue (`inOrder`, sorted by
/// construction, taken from its front), and only the others to a heap. The least entry
/// is the lesser of the two fronts. Queue_log's deadlines had spent a tenth of its
/// reading sifting a heap of nearly sorted entries.
struct LazyMinimum<Tag> {
    private struct Entry: Comparable {
        var at: Int64
        var serial: Int
        var tag: Tag
        static func < (a: Entry, b: Entry) -> Bool { a.at != b.at ? a.at < b.at : a.serial < b.serial }
        static func == (a: Entry, b: Entry) -> Bool { a.at == b.at && a.serial == b.serial }
    }
    /// `inOrder[head...]`, in order; the slots before `head` are taken.
    private var inOrder: [Entry] = []
    private var head = 0
    private var heap = Heap<Entry>()
    private var serial = 0

    var isEmpty: Bool { head == inOrder.count && heap.isEmpty }
    var count: Int { inOrder.count - head + heap.count }

    mutating func push(_ at: Int64, _ tag: Tag) {
        serial += 1
        let entry = Entry(at: at, serial: serial, tag: tag)
        // A later serial: not below the last in order unless its time is.
        if head < inOrder.count, at < inOrder[inOrder.count - 1].at {
            heap.insert(entry)
        } else {
            inOrder.append(entry)
        }
    }

    /// The least entry, and whether it is the queue's front (else the heap's).
    private var top: (entry: Entry, inOrder: Bool)? {
        let front = head < inOrder.count ? inOrder[head] : nil
        switch (front, heap.min) {
        case (nil, nil): return nil
        case (let a?, nil): return (a, true)
        case (nil, let b?): return (b, false)
        case (let a?, let b?): return a < b ? (a, true) : (b, false)
        }
    }

    private mutating func removeTop(fromQueue: Bool) {
        guard fromQueue else {
            _ = heap.popMin()
            return
        }
        head += 1
        if head == inOrder.count {
            inOrder.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4096, head * 2 >= inOrder.count {
            inOrder.removeFirst(head)
            head = 0
        }
    }

    /// The least valid entry, dropping stale ones on the way.
    mutating func min(isValid: (Int64, Tag) -> Bool) -> (at: Int64, tag: Tag)? {
        while let top {
            if isValid(top.entry.at, top.entry.tag) { return (top.entry.at, top.entry.tag) }
            removeTop(fromQueue: top.inOrder)
        }
        return nil
    }

    /// Removes and returns the least entry (valid or not) if it is below `limit`.
    mutating func pop(below limit: Int64) -> (at: Int64, tag: Tag)? {
        guard let top, top.entry.at < limit else { return nil }
        removeTop(fromQueue: top.inOrder)
        return (top.entry.at, top.entry.tag)
    }
}
