import Dispatch
import Testing
@testable import CallSiftConcurrency

@Suite struct SPSCRingTests {
    /// One producer and one consumer run side by side (`concurrentPerform` with two
    /// iterations); the consumer must see every value exactly once, in order.
    @Test(arguments: [2, 8, 64])
    func orderAndSumUnderConcurrency(capacity: Int) {
        let ring = SPSCRing<Int>(capacity: capacity)
        let n = 200_000
        nonisolated(unsafe) let received = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        received.initialize(repeating: 0, count: 3)
        defer { received.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                for i in 1...n { ring.push(i) }
                ring.close()
            } else {
                var last = 0, sum = 0, count = 0, inOrder = 1
                while let v = ring.pop() {
                    if v != last + 1 { inOrder = 0 }
                    last = v; sum += v; count += 1
                }
                received[0] = count; received[1] = sum; received[2] = inOrder
            }
        }
        #expect(received[0] == n)
        #expect(received[1] == n * (n + 1) / 2)
        #expect(received[2] == 1)
    }

    @Test func fullRingRefusesAndEmptyRingReturnsNil() {
        let ring = SPSCRing<String>(capacity: 4)
        #expect(ring.tryPop() == nil)
        for i in 0..<4 { #expect(ring.tryPush("\(i)")) }
        #expect(!ring.tryPush("overflow"))
        #expect(ring.tryPop() == "0")
        #expect(ring.tryPush("4"))
        var out: [String] = []
        while let s = ring.tryPop() { out.append(s) }
        #expect(out == ["1", "2", "3", "4"])
        ring.close()
        #expect(ring.pop() == nil)
    }

    /// Batches of values, as the pipeline moves them: order and sums survive.
    @Test func batchesAcrossThreads() {
        let ring = SPSCRing<[Int]>(capacity: 8)
        let batches = 2_000, size = 500
        nonisolated(unsafe) let total = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        total.initialize(repeating: 0, count: 2)
        defer { total.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                for b in 0..<batches { ring.push(Array(b * size..<(b + 1) * size)) }
                ring.close()
            } else {
                var next = 0, ok = 1
                while let batch = ring.pop() {
                    for v in batch { if v != next { ok = 0 }; next += 1 }
                }
                total[0] = next; total[1] = ok
            }
        }
        #expect(total[0] == batches * size)
        #expect(total[1] == 1)
    }

    /// Containers arrive in order with their contents, and no more than `depth + 2` are
    /// ever made: every emptied one comes back, none is dropped.
    @Test func recyclingRingReusesItsContainers() {
        final class Box: @unchecked Sendable { var values: [Int] = [] }  // one side holds it at a time
        let depth = 4
        let pipe = RecyclingRing<Box>(depth: depth)
        nonisolated(unsafe) let counts = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        counts.initialize(repeating: 0, count: 3)
        defer { counts.deallocate() }
        let boxes = 5_000, size = 100
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                for b in 0..<boxes {
                    let box = pipe.vacant {
                        counts[0] += 1; return Box()
                    }
                    box.values.removeAll(keepingCapacity: true)
                    box.values.append(contentsOf: b * size..<(b + 1) * size)
                    pipe.send(box)
                }
                pipe.close()
            } else {
                var next = 0, ok = 1
                while let box = pipe.receive() {
                    for v in box.values { if v != next { ok = 0 }; next += 1 }
                    pipe.recycle(box)
                }
                counts[1] = next; counts[2] = ok
            }
        }
        #expect(counts[1] == boxes * size)
        #expect(counts[2] == 1)
        #expect(counts[0] <= depth + 2)
    }
}
