import Benchmark
import CallSiftConcurrency

struct Key: ShardTableKey {
    var a: UInt64, b: UInt64
    var tableHash: UInt64 { mix64(a ^ (b &* 0x9E37_79B9_7F4A_7C15)) }
}

/// The keyed tables as the stages use them: a sliding window of live keys, each found or
/// inserted, updated, and removed later. Throughput is operations per second.
/// `ShardTable` holds the caller scopes; `ArrivalTable`, the calls in progress, whose
/// keys come and go in about the order they were inserted, as here.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .mega, maxDuration: .seconds(10), maxIterations: 20)
    Benchmark("shard table: insert, find, update, remove (window of 100k live keys)") { benchmark in
        let table = ShardTable<Key, (Int64, Int64, Int64, Int64)>(minimumCapacity: 150_000)
        var i: UInt64 = 0
        for _ in benchmark.scaledIterations {
            let k = Key(a: i, b: i &* 31)
            if let s = table.find(k) { table[s].0 += 1 } else { table.insert(k, (1, 2, 3, 4)) }
            if i >= 100_000, let s = table.find(Key(a: i - 100_000, b: (i - 100_000) &* 31)) { table.remove(at: s) }
            i += 1
        }
        blackHole(table.count)
    }
    Benchmark("arrival table: insert, find, update, remove (window of 100k live keys)") { benchmark in
        let table = ArrivalTable<Key, (Int64, Int64, Int64, Int64)>(minimumCapacity: 150_000)
        var i: UInt64 = 0
        for _ in benchmark.scaledIterations {
            let k = Key(a: i, b: i &* 31)
            if let s = table.find(k) { table[s].0 += 1 } else { table.insert(k, (1, 2, 3, 4)) }
            if i >= 100_000, let s = table.find(Key(a: i - 100_000, b: (i - 100_000) &* 31)) { table.remove(at: s) }
            i += 1
        }
        blackHole(table.count)
    }
}
