import Dispatch
import Testing

@testable import CallSiftCore

@Suite struct LockedTests {
    /// Four threads update one value under the lock: nothing is lost, and under
    /// ThreadSanitizer (CI) nothing is reported, as it was for `Synchronization.Mutex`.
    @Test func updatesFromManyThreadsAreNotLost() {
        let counts = Locked([Int](repeating: 0, count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            for _ in 0..<20_000 {
                counts.withLock {
                    $0[i] += 1; $0[(i + 1) % 4] += 1
                }
            }
        }
        #expect(counts.withLock { $0 } == [40_000, 40_000, 40_000, 40_000])
    }
}
