#ifndef CALLSIFT_PREFETCH_H
#define CALLSIFT_PREFETCH_H

/* Swift has no prefetch intrinsic. The keyed stages look up large hash tables whose
   entries are almost never in cache; asking for an entry a few lookups ahead lets the
   memory fetches overlap instead of stalling one after another. A hint only: it never
   faults and changes no result. */
static inline void callsift_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

static inline void callsift_prefetch_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
