#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Allocation of the big flat buffers of the keyed stages (the hash tables).
///
/// Those buffers run to hundreds of megabytes and are read at random, so with 4 KiB
/// pages nearly every access also misses the TLB, and on a virtual machine each page
/// walk is itself several memory reads. Buffers of at least 2 MiB are therefore mapped
/// directly, aligned to 2 MiB and marked for transparent huge pages (`MADV_HUGEPAGE`),
/// which Linux honours when its setting is `madvise` or `always`. Smaller buffers, and
/// other systems, use the ordinary allocator. Memory from `allocate` is zero-filled
/// either way, and must be given back with `deallocate` and the same byte count.
public enum LargeMemory {
    static let hugePage = 2 << 20

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
            _ = madvise(p, size, Int32(MADV_HUGEPAGE))
            return p
        }
        #endif
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: alignment)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        return p
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
}
