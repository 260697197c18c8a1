/// One result slot per iteration of a `DispatchQueue.concurrentPerform`: iteration `i`
/// writes slot `i` and no other, and the slots are read only after the call has returned.
///
/// `@unchecked Sendable` on that invariant: no two threads ever touch one slot, and
/// `concurrentPerform` returning orders every write before the reads that follow.
public final class DisjointSlots<Element>: @unchecked Sendable {
    private var storage: [Element]

    public init(count: Int, repeating value: Element) {
        storage = [Element](repeating: value, count: count)
    }

    /// Slot `i`, for iteration `i` only.
    public subscript(i: Int) -> Element {
        get { storage.withUnsafeBufferPointer { $0[i] } }
        set { storage.withUnsafeMutableBufferPointer { $0[i] = newValue } }
    }

    /// Every slot, once the iterations are done.
    public var values: [Element] { storage }
}
