#ifndef CALLSIFT_MEMORY_H
#define CALLSIFT_MEMORY_H

/* What Swift cannot call directly for the big hash tables: a prefetch hint (Swift has
   no intrinsic) and, on Linux, mremap (variadic in C, so not imported). */

/* The keyed stages look up tables far larger than the caches; asking for an entry a
   few lookups ahead lets the memory fetches overlap instead of stalling one after
   another. A hint only: it never faults and changes no result. */
static inline void callsift_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
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

#endif
