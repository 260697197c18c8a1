import Atomics
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
///
/// Memory ordering: the producer writes the slot, then publishes `tail` with a release
/// store; the consumer reads `tail` with an acquire load before reading the slot. The
/// consumer frees a slot by a release store of `head`, which the producer's acquire load
/// pairs with before it overwrites the slot.
public final class SPSCRing<Element>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Element?>
    private let mask: Int
    /// 256 bytes: `head` at offset 0, `tail` at offset 128.
    private let cursorStorage: UnsafeMutableRawPointer
    private let head: UnsafeAtomic<Int>
    private let tail: UnsafeAtomic<Int>
    private let closed = ManagedAtomic<Bool>(false)

    // Producer-only state.
    private var producerTail = 0
    private var cachedHead = 0
    // Consumer-only state.
    private var consumerHead = 0
    private var cachedTail = 0

    #if DEBUG
    private let producerThread = ManagedAtomic<UInt>(0)
    private let consumerThread = ManagedAtomic<UInt>(0)
    #endif

    public init(capacity: Int) {
        precondition(capacity >= 2 && capacity & (capacity - 1) == 0, "ring capacity must be a power of two ≥ 2")
        mask = capacity - 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
        cursorStorage = .allocate(byteCount: 256, alignment: 128)
        let h = cursorStorage.bindMemory(to: Int.AtomicRepresentation.self, capacity: 1)
        let t = (cursorStorage + 128).bindMemory(to: Int.AtomicRepresentation.self, capacity: 1)
        h.initialize(to: Int.AtomicRepresentation(0))
        t.initialize(to: Int.AtomicRepresentation(0))
        head = UnsafeAtomic(at: h)
        tail = UnsafeAtomic(at: t)
    }

    deinit {
        slots.deinitialize(count: mask + 1)
        slots.deallocate()
        cursorStorage.deallocate()
    }

    public var capacity: Int { mask + 1 }

    /// Adds `element` if there is room. Producer only.
    public func tryPush(_ element: Element) -> Bool {
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
        return true
    }

    /// Adds `element`, waiting while the ring is full. Producer only.
    public func push(_ element: Element) {
        var backoff = Backoff()
        while !tryPush(element) { backoff.wait() }
    }

    /// Takes the oldest element, or nil when the ring is empty. Consumer only.
    public func tryPop() -> Element? {
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
        return element
    }

    /// Takes the oldest element, waiting while the ring is empty; nil once the producer
    /// has closed the ring and everything pushed before has been taken. Consumer only.
    public func pop() -> Element? {
        var backoff = Backoff()
        while true {
            if let e = tryPop() { return e }
            // acquire: pairs with `close`'s release, which follows the producer's last push.
            if closed.load(ordering: .acquiring) { return tryPop() }
            backoff.wait()
        }
    }

    /// Producer: no more elements will come.
    public func close() {
        // release: everything pushed before is visible to a consumer that sees `closed`.
        closed.store(true, ordering: .releasing)
    }

    #if DEBUG
    @inline(__always) private func checkProducer() { checkSole(producerThread, "producer") }
    @inline(__always) private func checkConsumer() { checkSole(consumerThread, "consumer") }

    /// Traps when a second thread takes a side that `owner` records as another
    /// thread's (the first to call claims it).
    private func checkSole(_ owner: ManagedAtomic<UInt>, _ side: StaticString) {
        let me = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self()))))
        let (first, holder) = owner.compareExchange(expected: 0, desired: me, ordering: .relaxed)
        precondition(first || holder == me, "SPSCRing: a second \(side) thread")
    }
    #else
    @inline(__always) private func checkProducer() {}
    @inline(__always) private func checkConsumer() {}
    #endif
}

/// Waiting without burning the core the other side needs: a few spins, then yields, then
/// short sleeps.
struct Backoff {
    private var rounds = 0
    mutating func wait() {
        rounds += 1
        if rounds < 64 { return }
        if rounds < 128 { sched_yield(); return }
        usleep(rounds < 1024 ? 20 : 200)
    }
}
