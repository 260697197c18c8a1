import Benchmark
import CallSiftConcurrency

struct BenchKey: ShardTableKey {
    var a: UInt64, b: UInt64
    var tableHash: UInt64 { mix64(a ^ (b &* 0x9E37_79B9_7F4A_7C15)) }
}

typealias BenchValue = (Int64, Int64, Int64, Int64)

/// What the workload needs of a keyed table; both tables have it.
protocol KeyedTable: AnyObject {
    func find(_ key: BenchKey) -> Int?
    func insert(_ key: BenchKey, _ value: BenchValue) -> Int
    func remove(at slot: Int)
    func bump(_ slot: Int)
    var count: Int { get }
}

extension ShardTable: KeyedTable where Key == BenchKey, Value == BenchValue {
    func bump(_ slot: Int) { self[slot].0 += 1 }
}

extension ArrivalTable: KeyedTable where Key == BenchKey, Value == BenchValue {
    func bump(_ slot: Int) { self[slot].0 += 1 }
}

/// The keyed tables as the stages use them: a sliding window of 100k live keys, each
/// found or inserted, updated, and removed later, in the order they came (as calls come
/// and go). Throughput is operations per second. `ShardTable` holds the caller scopes;
/// `ArrivalTable`, the calls in progress.
func slidingWindow<T: KeyedTable>(_ table: T, _ benchmark: Benchmark) {
    var i: UInt64 = 0
    for _ in benchmark.scaledIterations {
        let k = BenchKey(a: i, b: i &* 31)
        if let s = table.find(k) { table.bump(s) } else { _ = table.insert(k, (1, 2, 3, 4)) }
        if i >= 100_000, let s = table.find(BenchKey(a: i - 100_000, b: (i - 100_000) &* 31)) { table.remove(at: s) }
        i += 1
    }
    blackHole(table.count)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .mega, maxDuration: .seconds(10), maxIterations: 20)
    Benchmark("shard table: insert, find, update, remove (window of 100k live keys)") { benchmark in
        slidingWindow(ShardTable<BenchKey, BenchValue>(minimumCapacity: 150_000), benchmark)
    }
    Benchmark("arrival table: insert, find, update, remove (window of 100k live keys)") { benchmark in
        slidingWindow(ArrivalTable<BenchKey, BenchValue>(minimumCapacity: 150_000), benchmark)
    }
}
