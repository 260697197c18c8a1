import Testing
@testable import CallSiftConcurrency

@Suite struct ArrivalTableTests {
    /// Random inserts, updates and removals against a Dictionary model, with every
    /// invariant checked after every mutation; with a weak hash too (long probe runs, tags
    /// shared by different keys, wrap-around at the index's end).
    @Test(arguments: [false, true])
    func matchesADictionaryAndKeepsItsInvariants(weakHash: Bool) {
        let table = ArrivalTable<TestKey, Int>(minimumCapacity: 4)
        var model: [UInt64: Int] = [:]
        var state: UInt64 = 7
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        for step in 0..<6_000 {
            let k = TestKey(v: next() % 300, weak: weakHash)
            // Hints only: safe in any state, changing nothing (the model checks).
            table.prefetch(hash: k.tableHash)
            table.prefetchEntry(hash: k.tableHash)
            switch next() % 4 {
            case 0, 1:
                if let p = table.find(k) {
                    table[p] += 1
                    model[k.v]! += 1
                } else {
                    table.insert(k, step)
                    model[k.v] = step
                }
            case 2:
                if let p = table.find(k) {
                    table.remove(at: p)
                    model[k.v] = nil
                }
            default:
                if (table.find(k).map { table[$0] }) != model[k.v] { Issue.record("lookup of \(k.v) differs") }
            }
            table.checkInvariants()
            if table.count != model.count { Issue.record("count differs at step \(step)") }
        }
        var seen: [UInt64: Int] = [:]
        table.forEach { seen[$0.v] = $1 }
        #expect(seen == model)
    }

    /// The use it is made for: keys inserted in order and removed a fixed number of
    /// insertions later, a few out of turn. The ring keeps the insertion order, holes
    /// included, and does not grow while the live keys fit in half of it.
    @Test func keepsInsertionOrderAndStaysSmallUnderFIFOUse() {
        let table = ArrivalTable<TestKey, UInt64>(minimumCapacity: 16)
        let window: UInt64 = 1_000
        for i in 0..<50_000 as Range<UInt64> {
            table.insert(TestKey(v: i), i)
            if i >= window {
                // Every tenth key leaves early, the rest in order.
                let old = i - window
                if old % 10 != 0, let p = table.find(TestKey(v: old)) { table.remove(at: p) }
                if i % 10 == 0, let p = table.find(TestKey(v: i)) { table.remove(at: p) }
            }
            if i % 997 == 0 { table.checkInvariants() }
        }
        table.checkInvariants()
        var order: [UInt64] = []
        table.forEach { key, value in
            #expect(key.v == value)
            order.append(key.v)
        }
        #expect(order == order.sorted())
        #expect(order.count == table.count)
        #expect(table.ringCapacity <= 4096, "ring grew to \(table.ringCapacity) for about \(window) live keys")
    }

    /// Growing while the ring wraps round its end (the part before `head` moves up past
    /// the old end), at sizes where the ring is mapped and grows by remapping.
    @Test func growsInPlaceWhileWrapped() {
        let table = ArrivalTable<TestKey, UInt64>(minimumCapacity: 16)
        let window: UInt64 = 150_000
        var capacities: Set<Int> = []
        for i in 0..<600_000 as Range<UInt64> {
            // The window widens halfway, so the ring grows once it has wrapped.
            let w = i < 300_000 ? window / 3 : window
            table.insert(TestKey(v: i), i &* 7)
            if i >= w, let p = table.find(TestKey(v: i - w)) { table.remove(at: p) }
            if !capacities.contains(table.ringCapacity) {
                capacities.insert(table.ringCapacity)
                table.checkInvariants()
            }
        }
        table.checkInvariants()
        #expect(table.allocatedBytes > 2 << 20)
        var previous: UInt64?
        table.forEach { key, value in
            #expect(value == key.v &* 7)
            if let previous { #expect(key.v == previous + 1) }
            previous = key.v
        }
        #expect(previous == 599_999)
        #expect(table.count == Int(window) + 1 || table.count == Int(window))
    }

    /// A table past 2 MiB takes the mapped path of `LargeMemory`; grows several times.
    @Test func growsThroughManyRebuilds() {
        let table = ArrivalTable<TestKey, UInt64>()
        for i in 0..<200_000 as Range<UInt64> { table.insert(TestKey(v: i), i * 3) }
        table.checkInvariants()
        #expect(table.count == 200_000)
        #expect(table.allocatedBytes > 2 << 20)
        #expect((0..<200_000 as Range<UInt64>).allSatisfy { table.find(TestKey(v: $0)).map { table[$0] } == $0 * 3 })
        for i in stride(from: 0, to: 200_000, by: 2) as StrideTo<UInt64> { table.remove(at: table.find(TestKey(v: i))!) }
        table.checkInvariants()
        #expect(table.count == 100_000)
        #expect(table.find(TestKey(v: 2)) == nil)
        #expect(table.find(TestKey(v: 3)).map { table[$0] } == 9)
    }
}
