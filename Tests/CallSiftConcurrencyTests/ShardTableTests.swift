import Testing
@testable import CallSiftConcurrency

struct TestKey: ShardTableKey, Hashable {
    var v: UInt64
    /// A deliberately poor hash for some tests: long probe runs and wrap-around.
    var weak = false
    var tableHash: UInt64 { weak ? (v % 7) << 57 | (v % 97) : mix64(v) }
}

@Suite struct ShardTableTests {
    /// Random inserts, updates and removals against a Dictionary model, with every
    /// invariant checked after every mutation.
    /// Both with doubling and with a table grown by a quarter at 80% (slots not a power of two).
    @Test(arguments: [false, true], [2.0, 1.25])
    func matchesADictionaryAndKeepsItsInvariants(weakHash: Bool, growth: Double) {
        let table = ShardTable<TestKey, Int>(minimumCapacity: 4, maxLoad: growth == 2 ? 0.75 : 0.8, growth: growth)
        var model: [UInt64: Int] = [:]
        var state: UInt64 = 42
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        for step in 0..<6_000 {
            let k = TestKey(v: next() % 300, weak: weakHash)
            // Hints only: they must be safe in any state (long runs, wrap-around) and
            // change nothing, which the model checks.
            table.prefetchTag(hash: k.tableHash)
            table.prefetchSlot(hash: k.tableHash)
            switch next() % 4 {
            case 0, 1:
                if let slot = table.find(k) {
                    table[slot] += 1
                    model[k.v]! += 1
                } else {
                    table.insert(k, step)
                    model[k.v] = step
                }
            case 2:
                if let slot = table.find(k) {
                    table.remove(at: slot)
                    model[k.v] = nil
                }
            default:
                if (table.find(k).map { table[$0] }) != model[k.v] { Issue.record("lookup of \(k.v) differs") }
            }
            table.checkInvariants()
            if table.count != model.count { Issue.record("count differs at step \(step)") }
        }
        table.removeAll { key, value in key.v % 3 == 0 || value % 2 == 0 }
        model = model.filter { !($0.key % 3 == 0 || $0.value % 2 == 0) }
        table.checkInvariants()
        var seen: [UInt64: Int] = [:]
        table.forEach { seen[$0.v] = $1 }
        #expect(seen == model)
    }

    /// Sweeps that drop many entries of long runs (a weak hash, runs wrapping round the
    /// end) leave every remaining key where a lookup finds it, and no dropped one.
    @Test(arguments: [false, true])
    func removeAllKeepsEveryOtherKeyReachable(weakHash: Bool) {
        let table = ShardTable<TestKey, Int>(minimumCapacity: 16, maxLoad: 0.8, growth: 1.25)
        var model: [UInt64: Int] = [:]
        var state: UInt64 = 7
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        for round in 0..<40 {
            for _ in 0..<400 {
                let k = TestKey(v: next() % 5000, weak: weakHash)
                if table.find(k) == nil {
                    let value = Int(next() % 1000)
                    table.insert(k, value)
                    model[k.v] = value
                }
            }
            let cut = round % 4
            table.removeAll { key, value in (value + Int(key.v)) % 4 <= cut }
            model = model.filter { !(($0.value + Int($0.key)) % 4 <= cut) }
            table.checkInvariants()
            var wrong = table.count == model.count ? 0 : 1
            for v in 0..<5000 as Range<UInt64> {
                let found = table.find(TestKey(v: v, weak: weakHash)).map { table[$0] }
                if found != model[v] { wrong += 1 }
            }
            #expect(wrong == 0, "round \(round)")
        }
    }

    @Test func growsAndStaysWithinItsLoadBound() {
        let table = ShardTable<TestKey, UInt64>()
        for i in 0..<100_000 as Range<UInt64> { table.insert(TestKey(v: i), i) }
        table.checkInvariants()
        #expect(table.count == 100_000)
        #expect(Double(table.count) <= Double(table.capacity) * 0.75)
        #expect((0..<100_000 as Range<UInt64>).allSatisfy { table.find(TestKey(v: $0)).map { table[$0] } == $0 })
    }

    /// Grown by a quarter at 80%, a table is never less than 64% full once it has grown.
    @Test func growingByAQuarterKeepsTheTableFull() {
        let table = ShardTable<TestKey, UInt64>(minimumCapacity: 16, maxLoad: 0.8, growth: 1.25)
        var least = 1.0
        for i in 0..<200_000 as Range<UInt64> {
            let before = table.capacity
            table.insert(TestKey(v: i), i)
            if table.capacity != before { least = min(least, Double(table.count) / Double(table.capacity)) }
        }
        table.checkInvariants()
        #expect(least >= 0.63)
        #expect(Double(table.count) <= Double(table.capacity) * 0.8)
        #expect((0..<200_000 as Range<UInt64>).allSatisfy { table.find(TestKey(v: $0)).map { table[$0] } == $0 })
    }
}
