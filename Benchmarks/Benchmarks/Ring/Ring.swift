import Benchmark
import CallSiftConcurrency
import Dispatch

/// The SPSC ring between two threads: batches of 4096 integers, as the pipeline moves
/// batches of events. Throughput is batches per second.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo, maxDuration: .seconds(10), maxIterations: 20)
    Benchmark("ring: 1000 batches of 4096 across threads") { benchmark in
        let batch = [Int](repeating: 1, count: 4096)
        acrossThreads(SPSCRing<[Int]>(capacity: 8), benchmark.scaledIterations.count, { _ in batch }, { $0.count })
    }
    Benchmark("ring: single Int per slot across threads") { benchmark in
        acrossThreads(SPSCRing<Int>(capacity: 1024), benchmark.scaledIterations.count, { $0 }, { $0 })
    }
}

/// Pushes `n` elements made by `make` from one thread while another pops them all,
/// summing `weight` of each so that nothing is optimised away.
func acrossThreads<T: Sendable>(_ ring: SPSCRing<T>, _ n: Int, _ make: @escaping @Sendable (Int) -> T,
                      _ weight: @escaping @Sendable (T) -> Int) {
    DispatchQueue.concurrentPerform(iterations: 2) { role in
        if role == 0 {
            for i in 0 ..< n { ring.push(make(i)) }
            ring.close()
        } else {
            var sum = 0
            while let e = ring.pop() { sum &+= weight(e) }
            blackHole(sum)
        }
    }
}
