import Testing
@testable import CallSiftConcurrency

/// `SlabPool`'s debug checks (index in range, no double release, no use of a released
/// record) trap, so a broken rule cannot be shown in-process; these tests show that valid
/// use passes every check, and that the live bitmap the checks keep in debug builds
/// matches a model of the pool.
@Suite struct SlabPoolTests {
    /// Counts the boxes alive.
    final class Census { var live = 0 }

    /// A record with a reference in it, so that a record deinitialised twice, or never,
    /// shows as a wrong count of live boxes.
    final class Box {
        let value: Int
        let census: Census
        init(_ value: Int, _ census: Census) {
            self.value = value
            self.census = census
            census.live += 1
        }
        deinit { census.live -= 1 }
    }

    struct Record {
        var value: Int
        var box: Box
    }

    /// Random allocations, reads, writes and releases against a dictionary model: every
    /// live record reads back what was last written, indices of released records are
    /// reused before the pool grows, and (debug builds) the live bitmap is the model's keys.
    @Test func matchesAModelThroughAllocateReleaseAndReuse() {
        var state: UInt64 = 7
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let census = Census()
        do {
            let pool = SlabPool<Record>(capacity: 16)
            /// Each live record's value, and the value its box was made with.
            var model: [Int32: (value: Int, boxed: Int)] = [:]
            /// The model's keys, in an order of their own, to pick from.
            var keys: [Int32] = []
            func pick() -> Int32 { keys[Int(next() % UInt64(keys.count))] }
            var highest: Int32 = -1
            for step in 0..<20_000 {
                let r = next() % 10
                if r < 5 || model.isEmpty {
                    let value = Int(next())
                    let freed = pool.count < pool.used
                    let i = pool.allocate(Record(value: value, box: Box(value, census)))
                    #expect(model[i] == nil, "index \(i) handed out while live")
                    if freed {
                        #expect(i <= highest, "a released index is reused before the pool grows")
                    } else {
                        #expect(i == highest + 1)
                    }
                    highest = max(highest, i)
                    model[i] = (value, value)
                    keys.append(i)
                } else if r < 7 {
                    let k = Int(next() % UInt64(keys.count))
                    let i = keys[k]
                    pool.release(i)
                    model[i] = nil
                    keys.swapAt(k, keys.count - 1)
                    keys.removeLast()
                } else if r < 9 {
                    let i = pick()
                    #expect(pool[i].value == model[i]!.value)
                    #expect(pool[i].box.value == model[i]!.boxed)
                } else {
                    let i = pick()
                    pool[i].value += 1
                    model[i]!.value += 1
                }
                #expect(pool.count == model.count)
                if step % 1000 == 0 { checkLiveBitmap(pool, model) }
            }
            checkLiveBitmap(pool, model)
            #expect(census.live == model.count)
            for (i, m) in model { #expect(pool[i].value == m.value) }
        }
        // The pool's deinit deinitialised every live record, and only those.
        #expect(census.live == 0)
    }

    /// Everything released, then allocated again: the same indices come back and the pool
    /// does not grow.
    @Test func releasedIndicesAreReused() {
        let pool = SlabPool<Int>(capacity: 16)
        let first = (0..<100).map { pool.allocate($0) }
        #expect(first == Array(0..<100))
        for i in first { pool.release(i) }
        #expect(pool.count == 0)
        let capacity = pool.capacity
        let again = (0..<100).map { pool.allocate($0 * 2) }
        #expect(Set(again) == Set(first))
        #expect(pool.capacity == capacity)
        #expect(pool.used == 100)
        for (n, i) in again.enumerated() { #expect(pool[i] == n * 2) }
        checkLiveBitmap(pool, Dictionary(uniqueKeysWithValues: again.map { ($0, 0) }))
    }

    /// In debug builds the bitmap the checks keep has exactly the model's indices set; in
    /// release builds the checks' conditions are not evaluated, and it stays empty.
    func checkLiveBitmap<E, V>(_ pool: SlabPool<E>, _ model: [Int32: V]) {
        #if DEBUG
        for i in 0..<Int32(pool.used) { #expect(pool.debugIsLive(i) == (model[i] != nil), "record \(i)") }
        #else
        #expect(pool.debugLive.isEmpty)
        #endif
    }
}
