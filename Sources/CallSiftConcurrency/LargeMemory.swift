#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CMemory
import Atomics

/// Allocation of big flat buffers: the hash tables of the keyed stages, and the ring that
/// zstd decodes into.
///
/// The tables run to hundreds of megabytes and are read at random, so with 4 KiB pages
/// nearly every access also misses the TLB, and on a virtual machine each page walk is
/// itself several memory reads. The decoding ring (about 9 MiB) is written once through
/// and read back by zstd's matches and by the parser on the other core: on 4 KiB pages
/// it is over 2,000 TLB entries. Buffers of at least 2 MiB are therefore mapped
/// directly, aligned to 2 MiB and marked for transparent huge pages (`MADV_HUGEPAGE`),
/// which Linux honours when its setting is `madvise` or `always`. Smaller buffers, and
/// other systems, use the ordinary allocator. Memory from `allocate` is zero-filled
/// either way, and must be given back with `deallocate` and the same byte count.
///
/// A process that needs a lot of memory at once can turn huge pages off
/// (`preferHugePages(false)`): see there.
public enum LargeMemory {
    static let hugePage = 2 << 20
    private static let hugePages = ManagedAtomic<Bool>(true)

    /// Whether buffers mapped from now on are marked for huge pages (the default: yes).
    ///
    /// Turn it off for a run that fills gigabytes within a second or two, as a run from
    /// durable state does when it restores its tables. Under Linux's `defrag` setting
    /// `madvise` (common, and the case on the machines measured), a fault in a marked
    /// region compacts memory to find a free 2 MiB page, and first touches then ran at
    /// 0.4–0.65 GB/s against 2.2 GB/s on ordinary pages (docs/performance.md, "Daily runs
    /// with durable state"). Spread over a long run that cost is repaid by fewer TLB misses
    /// (a one-run over 36 national days is about 7% faster with them); concentrated in a
    /// short one it is not. Buffers already mapped keep their marking. Only speed changes.
    public static func preferHugePages(_ on: Bool) {
        hugePages.store(on, ordering: .relaxed)
    }

    private static func markForHugePages(_ p: UnsafeMutableRawPointer, _ byteCount: Int) {
        #if os(Linux)
        if hugePages.load(ordering: .relaxed) { _ = madvise(p, byteCount, Int32(MADV_HUGEPAGE)) }
        #endif
    }

    public static func allocate(byteCount: Int, alignment: Int = 64) -> UnsafeMutableRawPointer {
        #if os(Linux)
        if byteCount >= hugePage {
            let size = roundedUp(byteCount)
            // Map one huge page more than needed and trim both ends so the start is aligned.
            let total = size + hugePage
            guard let raw = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                raw != MAP_FAILED
            else { fatalError("out of memory mapping \(total) bytes") }
            let address = Int(bitPattern: raw)
            let aligned = (address + hugePage - 1) & ~(hugePage - 1)
            if aligned > address { munmap(raw, aligned - address) }
            let tail = address + total - (aligned + size)
            if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: aligned + size), tail) }
            let p = UnsafeMutableRawPointer(bitPattern: aligned)!
            markForHugePages(p, size)
            return p
        }
        #endif
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: alignment)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        return p
    }

    /// Resizes a buffer from `allocate`, keeping its first `min(oldByteCount, newByteCount)`
    /// bytes; bytes beyond the old end are zero. A mapped buffer is remapped, so its pages
    /// are neither copied nor touched again; otherwise the bytes are copied to a new buffer.
    /// The buffer may move.
    public static func reallocate(
        _ p: UnsafeMutableRawPointer, from oldByteCount: Int, to newByteCount: Int,
        alignment: Int = 64
    ) -> UnsafeMutableRawPointer {
        #if os(Linux)
        if oldByteCount >= hugePage && newByteCount >= hugePage {
            let old = roundedUp(oldByteCount), new = roundedUp(newByteCount)
            if old == new { return p }
            guard let q = callsift_mremap(p, old, new), q != MAP_FAILED
            else { fatalError("out of memory remapping \(new) bytes") }
            markForHugePages(q, new)
            return q
        }
        #endif
        let q = allocate(byteCount: newByteCount, alignment: alignment)
        q.copyMemory(from: p, byteCount: min(oldByteCount, newByteCount))
        deallocate(p, byteCount: oldByteCount)
        return q
    }

    public static func deallocate(_ p: UnsafeMutableRawPointer, byteCount: Int) {
        #if os(Linux)
        if byteCount >= hugePage {
            munmap(p, roundedUp(byteCount))
            return
        }
        #endif
        p.deallocate()
    }

    private static func roundedUp(_ n: Int) -> Int { (n + hugePage - 1) & ~(hugePage - 1) }

    /// Tells glibc's `malloc` to serve blocks of up to 32 MiB (its most) from its heap and
    /// to keep up to 256 MiB of freed heap, for a process that runs the pipeline.
    ///
    /// The arrays that carry events and contacts between threads are hundreds of KiB and
    /// change hands (one thread fills an array, another empties it, and capacities mix as
    /// arrays are swapped). By default glibc maps each such block and unmaps it when freed,
    /// so the next one is mapped and zeroed afresh, and unmapping memory that another
    /// thread touched interrupts that thread's core to flush its TLB. Kept in the heap,
    /// freed blocks are reused as they are. Measured on 10M calls: system time about
    /// 0.9 → 0.4 s. The big tables do not use `malloc` (see `allocate`). Elsewhere a no-op.
    public static func keepFreedMemoryInHeap() {
        callsift_keep_freed_memory_in_heap()
    }
}
