import Atomics
import CMemory
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bounded single-producer single-consumer lock-free ring.
///
/// - Capacity is a power of two; a slot is `cursor & mask`.
/// - `tail` (next slot to write, owned by the producer) and `head` (next slot to read,
///   owned by the consumer) are atomics 128 bytes apart, so they never share a cache line
///   (nor an adjacent-line prefetch pair).
/// - Each side caches the other side's cursor and reloads it only when the ring looks
///   full (producer) or empty (consumer), so in steady state a push or pop touches no
///   shared line but the slot itself.
/// - Slots are allocated once. Elements are meant to be batches (an `EventBatch` of
///   thousands of events), not single events: moving one small item per slot across
///   threads costs more than the item.
/// - A full ring makes the producer wait (back-pressure), never grow.
/// - A side that must wait (`push` on a full ring, `pop` on an empty one) checks again a
///   few times and then sleeps until the other side wakes it (`Parking`): the stages of
///   a run outnumber the cores, and a waiting thread must give its core to one that has
///   work, yet wake as soon as it has work itself.
///
/// Memory ordering: the producer writes the slot, then publishes `tail` with a release
/// store; the consumer reads `tail` with an acquire load before reading the slot. The
/// consumer frees a slot by a release store of `head`, which the producer's acquire load
/// pairs with before it overwrites the slot.
/// `@unchecked Sendable`: one producer thread and one consumer thread at a time; the
/// slots between them are published by the release/acquire atomics of `head` and `tail`.
/// Elements cross from one thread to the other, so they must be `Sendable`; a mutable
/// container handed back and forth states, where it is declared, that one side holds it
/// at a time.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
public final class SPSCRing<Element: Sendable>: @unchecked Sendable {
    @usableFromInline let slots: UnsafeMutablePointer<Element?>
    @usableFromInline let mask: Int
    /// 512 bytes: `head` at offset 0, `tail` at 128, the two parkings at 256 and 384.
    @usableFromInline let cursorStorage: UnsafeMutableRawPointer
    @usableFromInline let head: UnsafeAtomic<Int>
    @usableFromInline let tail: UnsafeAtomic<Int>
    @usableFromInline let closed = ManagedAtomic<Bool>(false)
    /// Where the consumer sleeps on an empty ring, and the producer on a full one.
    @usableFromInline let consumerParking: Parking
    @usableFromInline let producerParking: Parking

    // Producer-only state.
    @usableFromInline @exclusivity(unchecked) var producerTail = 0
    @usableFromInline @exclusivity(unchecked) var cachedHead = 0
    // Consumer-only state.
    @usableFromInline @exclusivity(unchecked) var consumerHead = 0
    @usableFromInline @exclusivity(unchecked) var cachedTail = 0

    #if DEBUG
    @usableFromInline let producerThread = ManagedAtomic<UInt>(0)
    @usableFromInline let consumerThread = ManagedAtomic<UInt>(0)
    #endif

    public init(capacity: Int) {
        precondition(capacity >= 2 && capacity & (capacity - 1) == 0, "ring capacity must be a power of two ≥ 2")
        mask = capacity - 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
        cursorStorage = .allocate(byteCount: 512, alignment: 128)
        let h = cursorStorage.bindMemory(to: Int.AtomicRepresentation.self, capacity: 1)
        let t = (cursorStorage + 128).bindMemory(to: Int.AtomicRepresentation.self, capacity: 1)
        h.initialize(to: Int.AtomicRepresentation(0))
        t.initialize(to: Int.AtomicRepresentation(0))
        head = UnsafeAtomic(at: h)
        tail = UnsafeAtomic(at: t)
        consumerParking = Parking(at: cursorStorage + 256)
        producerParking = Parking(at: cursorStorage + 384)
    }

    deinit {
        slots.deinitialize(count: mask + 1)
        slots.deallocate()
        cursorStorage.deallocate()
    }

    @inlinable public var capacity: Int { mask + 1 }

    /// Adds `element` if there is room. Producer only.
    @inlinable public func tryPush(_ element: Element) -> Bool {
        checkProducer()
        if producerTail - cachedHead > mask {
            // acquire: pairs with the consumer's release of `head`; the slot is free to reuse.
            cachedHead = head.load(ordering: .acquiring)
            if producerTail - cachedHead > mask { return false }
        }
        slots[producerTail & mask] = element
        producerTail += 1
        // release: publishes the slot written above to the consumer's acquire of `tail`.
        tail.store(producerTail, ordering: .releasing)
        consumerParking.wake()
        return true
    }

    /// Adds `element`, waiting while the ring is full. Producer only.
    @inlinable public func push(_ element: Element) {
        while !tryPush(element) {
            producerParking.wait { producerTail - head.load(ordering: .acquiring) <= mask }
        }
    }

    /// Takes the oldest element, or nil when the ring is empty. Consumer only.
    @inlinable public func tryPop() -> Element? {
        checkConsumer()
        if consumerHead == cachedTail {
            // acquire: pairs with the producer's release of `tail`; the slot is written.
            cachedTail = tail.load(ordering: .acquiring)
            if consumerHead == cachedTail { return nil }
        }
        let slot = consumerHead & mask
        let element = slots[slot].take()
        consumerHead += 1
        // release: hands the emptied slot back to the producer's acquire of `head`.
        head.store(consumerHead, ordering: .releasing)
        producerParking.wake()
        return element
    }

    /// Takes the oldest element, waiting while the ring is empty; nil once the producer
    /// has closed the ring and everything pushed before has been taken. Consumer only.
    @inlinable public func pop() -> Element? {
        while true {
            if let e = tryPop() { return e }
            // acquire: pairs with `close`'s release, which follows the producer's last push.
            if closed.load(ordering: .acquiring) { return tryPop() }
            consumerParking.wait { tail.load(ordering: .acquiring) != consumerHead || closed.load(ordering: .acquiring) }
        }
    }

    /// Producer: no more elements will come.
    @inlinable public func close() {
        // release: everything pushed before is visible to a consumer that sees `closed`.
        closed.store(true, ordering: .releasing)
        consumerParking.wake()
    }

    #if DEBUG
    @inlinable @inline(__always) func checkProducer() { checkSole(producerThread, "producer") }
    @inlinable @inline(__always) func checkConsumer() { checkSole(consumerThread, "consumer") }

    /// Traps when a second thread takes a side that `owner` records as another
    /// thread's (the first to call claims it).
    @inlinable func checkSole(_ owner: ManagedAtomic<UInt>, _ side: StaticString) {
        let me = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self()))))
        let (first, holder) = owner.compareExchange(expected: 0, desired: me, ordering: .relaxed)
        precondition(first || holder == me, "SPSCRing: a second \(side) thread")
    }
    #else
    @inlinable @inline(__always) func checkProducer() {}
    @inlinable @inline(__always) func checkConsumer() {}
    #endif
}

/// Where one side of a ring sleeps until the other side has acted.
///
/// The waiting side says so in `waiting`, then checks its condition once more, then
/// sleeps on `word` (a futex on Linux). The acting side, after each change, looks at
/// `waiting` and, if set, bumps `word` and wakes the sleeper. Both sides put a full fence
/// between their write and their read (the waiter's `waiting` before its check, the
/// actor's change before its look at `waiting`), so at least one of them sees the
/// other's write: either the waiter finds its condition true and does not sleep, or the
/// actor wakes it. A sleep also ends by itself after a millisecond, and the waiter then
/// checks again, so a missed wake-up could only ever cost that millisecond.
@usableFromInline struct Parking {
    @usableFromInline let word: UnsafeAtomic<UInt32>
    @usableFromInline let waiting: UnsafeAtomic<UInt32>
    /// The word's address for the futex calls, as a raw pointer: the memory is bound to
    /// `UInt32.AtomicRepresentation`, so it is never viewed as a `UInt32` from Swift.
    @usableFromInline let wordAddress: UnsafeMutableRawPointer

    /// Uses the 8 bytes at `storage` (which must stay allocated), and zeroes them.
    @usableFromInline init(at storage: UnsafeMutableRawPointer) {
        let w = storage.bindMemory(to: UInt32.AtomicRepresentation.self, capacity: 2)
        w.initialize(repeating: UInt32.AtomicRepresentation(0), count: 2)
        word = UnsafeAtomic(at: w)
        waiting = UnsafeAtomic(at: w + 1)
        wordAddress = UnsafeMutableRawPointer(w)
    }

    /// Returns once `ready()` is true; checks a few times before sleeping, since the
    /// other side is often about to act.
    @inlinable func wait(until ready: () -> Bool) {
        for _ in 0..<32 where ready() { return }
        while true {
            let seen = word.load(ordering: .acquiring)
            waiting.store(1, ordering: .relaxed)
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if ready() { break }
            callsift_futex_wait(wordAddress, seen, 1_000_000)
            if ready() { break }
        }
        waiting.store(0, ordering: .relaxed)
    }

    /// Wakes the other side if it sleeps; call after every change it may wait for.
    @inline(__always)
    @inlinable func wake() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard waiting.load(ordering: .relaxed) != 0 else { return }
        word.wrappingIncrement(ordering: .releasing)
        callsift_futex_wake(wordAddress)
    }
}
