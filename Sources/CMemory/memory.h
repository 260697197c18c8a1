#ifndef CALLSIFT_MEMORY_H
#define CALLSIFT_MEMORY_H

/* What Swift cannot call directly: for the big hash tables, a prefetch hint (Swift has
   no intrinsic) and, on Linux, mremap (variadic in C, so not imported); for the rings,
   futex waits (a system call with no libc wrapper); malloc's tuning (mallopt, whose
   header Swift's Glibc module leaves out). */

/* The keyed stages look up tables far larger than the caches; asking for an entry a
   few lookups ahead lets the memory fetches overlap instead of stalling one after
   another. A hint only: it never faults and changes no result. */
static inline void callsift_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/* The same hint for every cache line of the `count` bytes at `address` (a table entry). */
static inline void callsift_prefetch_bytes(const void *address, long count) {
    const char *end = (const char *)address + count;
    const char *line = (const char *)address - ((unsigned long)address & 63);
    for (; line < end; line += 64) __builtin_prefetch(line, 0, 3);
}

#ifdef __linux__
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>

/* Grows (or shrinks) a private anonymous mapping, keeping its pages; the mapping may
   move. MAP_FAILED on failure. */
static inline void *callsift_mremap(void *address, size_t old_size, size_t new_size) {
    return mremap(address, old_size, new_size, MREMAP_MAYMOVE);
}
#endif

/* glibc's malloc: blocks of up to 32 MiB (its most) from the heap rather than mapped one
   by one, and up to 256 MiB of freed heap kept rather than given back (see
   LargeMemory.keepFreedMemoryInHeap). Elsewhere nothing. */
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif
static inline void callsift_keep_freed_memory_in_heap(void) {
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

#include <stdint.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleeps while *word == expected, until woken, or at most timeout_ns. Returns at once
   if *word already differs. Spurious returns are allowed: callers check and wait again. */
static inline void callsift_futex_wait(void *word, uint32_t expected, long timeout_ns) {
    struct timespec timeout = { timeout_ns / 1000000000L, timeout_ns % 1000000000L };
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, &timeout, NULL, 0);
}

/* Wakes one thread sleeping in callsift_futex_wait on word. */
static inline void callsift_futex_wake(void *word) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#else
#include <time.h>
/* Elsewhere: a short sleep, with the same contract (the caller checks and waits again). */
static inline void callsift_futex_wait(void *word, uint32_t expected, long timeout_ns) {
    (void)word; (void)expected;
    struct timespec pause = { 0, timeout_ns < 50000L ? timeout_ns : 50000L };
    nanosleep(&pause, NULL);
}
static inline void callsift_futex_wake(void *word) { (void)word; }
#endif

#endif
