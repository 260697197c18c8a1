/// A first-in first-out queue of plain values, each addressed by the sequence number it
/// was given when appended (0, 1, 2, … over the queue's life).
///
/// For a stage that appends in order, updates entries still in the queue by their number,
/// and drops them from the front once settled (the classifier's first-contact-resolution
/// verdicts). The entries sit in a ring of power-of-two capacity from `LargeMemory`; entry
/// `n` lives in slot `n & (capacity − 1)`, so nothing moves when the front is dropped, and
/// growing (doubling, in place when the ring is mapped) moves only the entries whose slot
/// changes, each into the new upper half. An array that dropped its front by shifting
/// would copy the queue each time, and one that grew by reallocating would hold, and
/// fault in, twice its size.
///
/// `Element` must be trivial (no references): slots are moved as bytes and never
/// deinitialised. Not thread-safe: owned by one shard.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
public final class SequenceQueue<Element> {
    @usableFromInline @exclusivity(unchecked) var slots: UnsafeMutablePointer<Element>
    @usableFromInline @exclusivity(unchecked) var mask: Int
    /// Sequence number of the first entry; entries run from `head` to `tail` − 1.
    @inlinable public var head: Int64 { _head }
    @usableFromInline @exclusivity(unchecked) var _head: Int64 = 0
    /// Sequence number the next `append` gets.
    @inlinable public var tail: Int64 { _tail }
    @usableFromInline @exclusivity(unchecked) var _tail: Int64 = 0

    public init(minimumCapacity: Int = 1 << 10) {
        precondition(_isPOD(Element.self), "SequenceQueue holds trivial values only")
        var capacity = 16
        while capacity < minimumCapacity { capacity <<= 1 }
        mask = capacity - 1
        slots = Self.allocate(capacity)
    }

    deinit { LargeMemory.deallocate(UnsafeMutableRawPointer(slots), byteCount: capacity * MemoryLayout<Element>.stride) }

    @inlinable static func allocate(_ capacity: Int) -> UnsafeMutablePointer<Element> {
        LargeMemory.allocate(byteCount: capacity * MemoryLayout<Element>.stride, alignment: max(64, MemoryLayout<Element>.alignment))
            .bindMemory(to: Element.self, capacity: capacity)
    }

    @inlinable public var capacity: Int { mask + 1 }
    @inlinable public var count: Int { Int(tail - head) }
    @inlinable public var isEmpty: Bool { head == tail }
    /// Bytes held by the ring.
    @inlinable public var allocatedBytes: Int { capacity * MemoryLayout<Element>.stride }

    /// Appends `e` and returns its sequence number.
    @inline(__always)
    @discardableResult
    @inlinable public func append(_ e: Element) -> Int64 {
        if count == capacity { grow() }
        (slots + Int(truncatingIfNeeded: tail) & mask).initialize(to: e)
        _tail += 1
        return tail - 1
    }

    /// The entry numbered `n`, which must still be in the queue.
    @inlinable public subscript(n: Int64) -> Element {
        @inline(__always) unsafeAddress {
            precondition(n >= head && n < tail, "SequenceQueue: entry \(n) is not in the queue")
            return UnsafePointer(slots + Int(truncatingIfNeeded: n) & mask)
        }
        @inline(__always) unsafeMutableAddress {
            precondition(n >= head && n < tail, "SequenceQueue: entry \(n) is not in the queue")
            return slots + Int(truncatingIfNeeded: n) & mask
        }
    }

    /// The first entry, if any.
    @inlinable public var first: Element? { isEmpty ? nil : self[head] }

    /// Makes an empty queue number its next entry `n` (a queue restored from durable
    /// state goes on with the numbers it had).
    @inlinable public func restart(at n: Int64) {
        precondition(isEmpty, "SequenceQueue: restart of a queue that holds entries")
        _head = n
        _tail = n
    }

    /// Drops the first entry, which must exist.
    @inline(__always)
    @inlinable public func removeFirst() {
        precondition(!isEmpty, "SequenceQueue: removeFirst on an empty queue")
        _head += 1
    }

    /// Doubles the ring. Entry `n` moves from slot `n & old mask` to `n & new mask`: the
    /// same slot, or that slot plus the old capacity (in the new half, so moves never
    /// overlap an entry still to be moved).
    @inlinable func grow() {
        let old = capacity
        let stride = MemoryLayout<Element>.stride
        slots = LargeMemory.reallocate(
            UnsafeMutableRawPointer(slots), from: old * stride, to: 2 * old * stride,
            alignment: max(64, MemoryLayout<Element>.alignment)
        )
        .bindMemory(to: Element.self, capacity: 2 * old)
        let oldMask = mask
        mask = 2 * old - 1
        var n = head
        while n < tail {
            let from = Int(truncatingIfNeeded: n) & oldMask, to = Int(truncatingIfNeeded: n) & mask
            if from != to { (slots + to).moveInitialize(from: slots + from, count: 1) }
            n += 1
        }
    }
}
