#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value reached only under a lock: the shape of `Synchronization.Mutex` (`withLock`),
/// over a `pthread_mutex_t`.
///
/// Not `Mutex` itself: on Linux its lock is a futex inside the standard library, which is
/// not built for ThreadSanitizer, so ThreadSanitizer saw no ordering between two holders
/// and reported every use as a race (a dozen lines with `Mutex` and two threads reproduce
/// it). ThreadSanitizer intercepts pthread's lock calls, so this lock is seen, and a race
/// it reports is a real one. Uncontended, both cost an atomic operation each way.
///
/// `@unchecked Sendable`: the value is read and written only inside `withLock`, and it is
/// `Sendable`, so nothing reached through it is shared unlocked.
package final class Locked<Value: Sendable>: @unchecked Sendable {
    private var value: Value
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    package init(_ value: Value) {
        self.value = value
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
