/// One result slot per iteration of a `DispatchQueue.concurrentPerform`: iteration `i`
/// writes slot `i` and no other, and the slots are read only after the call has returned.
///
/// `@unchecked Sendable` on that invariant: no two threads ever touch one slot, and
/// `concurrentPerform` returning orders every write before the reads that follow.
public final class DisjointSlots<Element>: @unchecked Sendable {
    /// A buffer of its own, not an array: writing an array's element is an access to the
    /// whole array (its uniqueness is checked and it may be copied), which two iterations
    /// would race on; an element of a raw buffer is only that element.
    @usableFromInline let slots: UnsafeMutableBufferPointer<Element>

    public init(count: Int, repeating value: Element) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: value)
    }

    deinit {
        _ = slots.deinitialize()
        slots.deallocate()
    }

    /// Slot `i`, for iteration `i` only.
    @inlinable public subscript(i: Int) -> Element {
        get { slots[i] }
        set { slots[i] = newValue }
    }

    /// Every slot, once the iterations are done.
    @inlinable public var values: [Element] { Array(slots) }
}
