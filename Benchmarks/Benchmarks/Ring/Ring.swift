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
        let ring = SPSCRing<[Int]>(capacity: 8)
        let batch = [Int](repeating: 1, count: 4096)
        let n = benchmark.scaledIterations.count
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                for _ in 0 ..< n { ring.push(batch) }
                ring.close()
            } else {
                var sum = 0
                while let b = ring.pop() { sum &+= b.count }
                blackHole(sum)
            }
        }
    }
    Benchmark("ring: single Int per slot across threads") { benchmark in
        let ring = SPSCRing<Int>(capacity: 1024)
        let n = benchmark.scaledIterations.count
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                for i in 0 ..< n { ring.push(i) }
                ring.close()
            } else {
                var sum = 0
                while let v = ring.pop() { sum &+= v }
                blackHole(sum)
            }
        }
    }
}
