#ifndef CALLSIFT_BYTES_H
#define CALLSIFT_BYTES_H

/* Sixteen bytes at a time, for the scans every input line goes through (cutting records
   at newlines, splitting CSV fields at commas): Swift has no way to turn a byte-wise
   comparison into a bit mask (SSE2's movemask), and without one each byte found costs a
   loop of word arithmetic.

   Each function looks at the `count` bytes at `p` (count may be below 16) and returns
   a mask with bit i set for byte p[i]; bits at or above `count` are always clear. Bytes
   past `count` are read only when they lie in the same 4 KiB page as p[0], which cannot
   fault; the values read there are masked off. Elsewhere the bytes are copied first. */

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__clang__) || defined(__GNUC__)
#define CALLSIFT_NO_ASAN __attribute__((no_sanitize("address")))
#else
#define CALLSIFT_NO_ASAN
#endif

/* The masks of one block of a CSV record. */
typedef struct {
    uint32_t commas;
    uint32_t quotes;
    /* Bytes that are not ASCII, or are NUL. */
    uint32_t suspect;
} callsift_csv_masks;

static inline uint32_t callsift_low_bits(long count) {
    return count >= 16 ? 0xFFFFu : ((1u << count) - 1u);
}

#if defined(__SSE2__)
/* The 16 bytes at p, of which only the first `count` are meaningful. */
CALLSIFT_NO_ASAN
static inline __m128i callsift_load16(const uint8_t *p, long count) {
    if (count >= 16 || ((uintptr_t)p & 4095u) <= 4096u - 16u) return _mm_loadu_si128((const __m128i *)p);
    uint8_t copy[16] = {0};
    memcpy(copy, p, (size_t)count);
    return _mm_loadu_si128((const __m128i *)copy);
}
#endif

/* Commas, quotes and suspect bytes among p[0 ..< min(count, 16)] (count > 0). */
static inline callsift_csv_masks callsift_csv_block(const uint8_t *p, long count) {
    uint32_t live = callsift_low_bits(count);
    callsift_csv_masks m;
#if defined(__SSE2__)
    __m128i v = callsift_load16(p, count);
    m.commas = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(','))) & live;
    m.quotes = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"'))) & live;
    m.suspect = (uint32_t)(_mm_movemask_epi8(v) | _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()))) & live;
#else
    m.commas = 0; m.quotes = 0; m.suspect = 0;
    long n = count < 16 ? count : 16;
    for (long i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (b == ',') m.commas |= 1u << i;
        if (b == '"') m.quotes |= 1u << i;
        if (b == 0 || b >= 0x80) m.suspect |= 1u << i;
    }
#endif
    return m;
}

/* callsift_csv_block over p[0 ..< min(count, 64)] (count > 0): bit i of each mask is
   byte p[i]. A record's commas then come out of one word, so the loop that takes them
   runs (and mispredicts its end) once per 64 bytes rather than once per 16. */
typedef struct {
    uint64_t commas;
    uint64_t quotes;
    uint64_t suspect;
} callsift_csv_masks64;

static inline callsift_csv_masks64 callsift_csv_block64(const uint8_t *p, long count) {
    callsift_csv_masks64 m = { 0, 0, 0 };
    for (int k = 0; k < 4 && count > 16 * k; k++) {
        callsift_csv_masks b = callsift_csv_block(p + 16 * k, count - 16 * k);
        m.commas |= (uint64_t)b.commas << (16 * k);
        m.quotes |= (uint64_t)b.quotes << (16 * k);
        m.suspect |= (uint64_t)b.suspect << (16 * k);
    }
    return m;
}

/* The masks of 64 bytes of a CSV stream: its newlines as well as what
   callsift_csv_block64 gives. One load of each sixteen bytes serves both cutting records
   and finding their commas. */
typedef struct {
    uint64_t newlines;
    uint64_t commas;
    uint64_t quotes;
    uint64_t suspect;
} callsift_csv_stream64;

/* callsift_csv_stream64 over p[0 ..< min(count, 64)] (count > 0). */
static inline callsift_csv_stream64 callsift_csv_scan64(const uint8_t *p, long count) {
    callsift_csv_stream64 m = { 0, 0, 0, 0 };
#if defined(__SSE2__)
    if (count >= 64) {
        /* A whole block, as nearly every one is: four loads and no bounds to mind. */
        for (int k = 0; k < 4; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
            uint64_t shift = 16 * (uint64_t)k;
            m.newlines |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))) << shift;
            m.commas |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(','))) << shift;
            m.quotes |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"'))) << shift;
            m.suspect |= (uint64_t)(uint32_t)(_mm_movemask_epi8(v)
                                              | _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()))) << shift;
        }
        return m;
    }
#endif
    for (int k = 0; k < 4 && count > 16 * k; k++) {
        const uint8_t *q = p + 16 * k;
        long left = count - 16 * k;
        uint32_t live = callsift_low_bits(left);
        uint32_t newlines, commas, quotes, suspect;
#if defined(__SSE2__)
        __m128i v = callsift_load16(q, left);
        newlines = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
        commas = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
        quotes = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
        suspect = (uint32_t)(_mm_movemask_epi8(v) | _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())));
#else
        newlines = 0; commas = 0; quotes = 0; suspect = 0;
        long n = left < 16 ? left : 16;
        for (long i = 0; i < n; i++) {
            uint8_t b = q[i];
            if (b == '\n') newlines |= 1u << i;
            if (b == ',') commas |= 1u << i;
            if (b == '"') quotes |= 1u << i;
            if (b == 0 || b >= 0x80) suspect |= 1u << i;
        }
#endif
        m.newlines |= (uint64_t)(newlines & live) << (16 * k);
        m.commas |= (uint64_t)(commas & live) << (16 * k);
        m.quotes |= (uint64_t)(quotes & live) << (16 * k);
        m.suspect |= (uint64_t)(suspect & live) << (16 * k);
    }
    return m;
}

/* Newlines and quotes among p[0 ..< min(count, 16)] (count > 0), in one mask. */
static inline uint32_t callsift_newline_or_quote(const uint8_t *p, long count) {
    uint32_t live = callsift_low_bits(count);
#if defined(__SSE2__)
    __m128i v = callsift_load16(p, count);
    __m128i hits = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')), _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    return (uint32_t)_mm_movemask_epi8(hits) & live;
#else
    uint32_t m = 0;
    long n = count < 16 ? count : 16;
    for (long i = 0; i < n; i++) if (p[i] == '\n' || p[i] == '"') m |= 1u << i;
    return m;
#endif
}

#endif
