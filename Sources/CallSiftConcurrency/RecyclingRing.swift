/// Two `SPSCRing`s between one producer and one consumer: filled containers (batches of
/// events, chunks of decoded bytes, a step's contacts) go one way, emptied ones come back
/// the other way for reuse, so that once as many containers exist as can be in flight,
/// nothing is allocated.
///
/// At most `depth` containers wait in the forward ring, and each side holds at most one
/// more, so no more than `depth + 2` are ever made; the return ring has room for all of
/// them, and none is dropped.
/// `@unchecked Sendable`: two `SPSCRing`s, one side sending and the other receiving on
/// each; a container belongs to whichever side last took it from a ring.
public final class RecyclingRing<Element: Sendable>: @unchecked Sendable {
    @usableFromInline let filled: SPSCRing<Element>
    @usableFromInline let emptied: SPSCRing<Element>

    /// - Parameter depth: filled containers that may wait (a power of two); a producer
    ///   that gets this far ahead waits (back-pressure).
    public init(depth: Int) {
        filled = SPSCRing(capacity: depth)
        emptied = SPSCRing(capacity: 2 * depth)
    }

    /// A container to fill: an emptied one if any has come back, else a new one from
    /// `make`. Producer only.
    @inline(__always)
    @inlinable public func vacant(orMake make: () -> Element) -> Element { emptied.tryPop() ?? make() }

    /// Hands over a filled container, waiting while `depth` are already waiting.
    /// Producer only.
    @inlinable public func send(_ e: Element) { filled.push(e) }

    /// No more containers will be sent. Producer only.
    @inlinable public func close() { filled.close() }

    /// The next filled container, waiting for one; nil once the producer has closed and
    /// every container sent has been received. Consumer only.
    @inlinable public func receive() -> Element? { filled.pop() }

    /// Gives an emptied container back to the producer. Consumer only.
    @inlinable public func recycle(_ e: Element) { _ = emptied.tryPush(e) }
}
