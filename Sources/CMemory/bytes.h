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

/* The masks of sixteen bytes of CSV: bit i for byte p[i]. */
typedef struct {
    uint32_t newlines;
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

/* The masks of the sixteen bytes in v. */
static inline callsift_csv_masks callsift_csv_masks_of(__m128i v) {
    callsift_csv_masks m;
    m.newlines = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
    m.commas = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
    m.quotes = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    m.suspect = (uint32_t)(_mm_movemask_epi8(v) | _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())));
    return m;
}
#endif

/* Newlines, commas, quotes and suspect bytes among p[0 ..< min(count, 16)] (count > 0). */
static inline callsift_csv_masks callsift_csv_block(const uint8_t *p, long count) {
    uint32_t live = callsift_low_bits(count);
    callsift_csv_masks m;
#if defined(__SSE2__)
    m = callsift_csv_masks_of(callsift_load16(p, count));
#else
    m.newlines = 0; m.commas = 0; m.quotes = 0; m.suspect = 0;
    long n = count < 16 ? count : 16;
    for (long i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (b == '\n') m.newlines |= 1u << i;
        if (b == ',') m.commas |= 1u << i;
        if (b == '"') m.quotes |= 1u << i;
        if (b == 0 || b >= 0x80) m.suspect |= 1u << i;
    }
#endif
    m.newlines &= live; m.commas &= live; m.quotes &= live; m.suspect &= live;
    return m;
}

/* callsift_csv_block over p[0 ..< min(count, 64)] (count > 0). One load of each sixteen
   bytes serves both cutting a stream into records (`newlines`) and finding a record's
   fields; a record's commas then come out of one word, so the loop that takes them runs
   (and mispredicts its end) once per 64 bytes rather than once per 16. */
typedef struct {
    uint64_t newlines;
    uint64_t commas;
    uint64_t quotes;
    uint64_t suspect;
} callsift_csv_masks64;

/* Puts the masks of the k-th sixteen bytes into m. */
static inline void callsift_csv_put(callsift_csv_masks64 *m, callsift_csv_masks b, int k) {
    m->newlines |= (uint64_t)b.newlines << (16 * k);
    m->commas |= (uint64_t)b.commas << (16 * k);
    m->quotes |= (uint64_t)b.quotes << (16 * k);
    m->suspect |= (uint64_t)b.suspect << (16 * k);
}

/* Swift passes raw (untyped) memory: decoded chunks are never bound to a Swift type, and
   reading them through a typed pointer there would be undefined. C reads any object's
   bytes through an unsigned char pointer. */
static inline callsift_csv_masks64 callsift_csv_block64(const void *bytes, long count) {
    const uint8_t *p = (const uint8_t *)bytes;
    callsift_csv_masks64 m = { 0, 0, 0, 0 };
#if defined(__SSE2__)
    if (count >= 64) {
        /* A whole block, as nearly every one is: four loads and no bounds to mind. */
        for (int k = 0; k < 4; k++) callsift_csv_put(&m, callsift_csv_masks_of(_mm_loadu_si128((const __m128i *)(p + 16 * k))), k);
        return m;
    }
#endif
    for (int k = 0; k < 4 && count > 16 * k; k++) callsift_csv_put(&m, callsift_csv_block(p + 16 * k, count - 16 * k), k);
    return m;
}

/* Newlines and quotes among p[0 ..< min(count, 16)] (count > 0), in one mask. */
static inline uint32_t callsift_newline_or_quote(const void *bytes, long count) {
    const uint8_t *p = (const uint8_t *)bytes;
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

/* One byte value among p[0 ..< min(count, 16)] (count > 0): a separator, such as the
   `|` between queue_log's fields. */
static inline uint32_t callsift_byte_mask(const void *bytes, long count, uint8_t c) {
    const uint8_t *p = (const uint8_t *)bytes;
    uint32_t live = callsift_low_bits(count);
#if defined(__SSE2__)
    __m128i v = callsift_load16(p, count);
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)c))) & live;
#else
    uint32_t m = 0;
    long n = count < 16 ? count : 16;
    for (long i = 0; i < n; i++) if (p[i] == c) m |= 1u << i;
    return m;
#endif
}

/* callsift_byte_mask over p[0 ..< min(count, 64)] (count > 0), in one word. */
static inline uint64_t callsift_byte_mask64(const void *bytes, long count, uint8_t c) {
    const uint8_t *p = (const uint8_t *)bytes;
    uint64_t m = 0;
#if defined(__SSE2__)
    if (count >= 64) {
        const __m128i needle = _mm_set1_epi8((char)c);
        for (int k = 0; k < 4; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
            m |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, needle)) << (16 * k);
        }
        return m;
    }
#endif
    for (int k = 0; k < 4 && count > 16 * k; k++) m |= (uint64_t)callsift_byte_mask(p + 16 * k, count - 16 * k, c) << (16 * k);
    return m;
}

/* Whether any of p[0 ..< count] is not ASCII, or is NUL: the test every record of an
   adapter's format passes before its bytes are read as UTF-8 (nearly every record is plain
   ASCII, and is then known valid without a look at each byte). Sixteen bytes at a time;
   the last sixteen are read as the sixteen that end the record, overlapping bytes already
   seen, rather than byte by byte. */
static inline int callsift_any_suspect(const void *bytes, long count) {
    const uint8_t *p = (const uint8_t *)bytes;
    if (count <= 0) return 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    if (count < 16) {
        __m128i v = callsift_load16(p, count);
        uint32_t m = (uint32_t)(_mm_movemask_epi8(v) | _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)));
        return (m & callsift_low_bits(count)) != 0;
    }
    uint32_t m = 0;
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        m |= (uint32_t)(_mm_movemask_epi8(v) | _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)));
    }
    if (i < count) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + count - 16));
        m |= (uint32_t)(_mm_movemask_epi8(v) | _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)));
    }
    return m != 0;
#else
    for (long i = 0; i < count; i++) if (p[i] == 0 || p[i] >= 0x80) return 1;
    return 0;
#endif
}

/* JSON: the bytes that can change a scan's state, for cutting records at objects'
   ends: quotes, backslashes, braces, brackets and newlines among p[0 ..< min(count, 16)]
   (count > 0). Between two of them, a byte is neither the end of a string nor of an
   object, whether it is inside a string or not. */
static inline uint32_t callsift_json_structure(const void *bytes, long count) {
    const uint8_t *p = (const uint8_t *)bytes;
    uint32_t live = callsift_low_bits(count);
#if defined(__SSE2__)
    __m128i v = callsift_load16(p, count);
    /* '[' 0x5B, backslash 0x5C, ']' 0x5D, '{' 0x7B, '}' 0x7D: with bit 5 cleared, all five
       fall in 0x5B...0x5D (as does '|' 0x7C, which only costs a look). */
    __m128i folded = _mm_andnot_si128(_mm_set1_epi8(0x20), v);
    __m128i atMost5D = _mm_cmpeq_epi8(_mm_subs_epu8(folded, _mm_set1_epi8(0x5D)), _mm_setzero_si128());
    __m128i atMost5A = _mm_cmpeq_epi8(_mm_subs_epu8(folded, _mm_set1_epi8(0x5A)), _mm_setzero_si128());
    __m128i inRange = _mm_andnot_si128(atMost5A, atMost5D);
    __m128i hits = _mm_or_si128(inRange, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));
    return (uint32_t)_mm_movemask_epi8(hits) & live;
#else
    uint32_t m = 0;
    long n = count < 16 ? count : 16;
    for (long i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (b == '"' || b == '\\' || b == '{' || b == '}' || b == '[' || b == ']' || b == '\n' || b == '|') m |= 1u << i;
    }
    return m;
#endif
}

/* JSON strings: the bytes that end a run of plain string bytes: quotes, backslashes and
   control characters (below 0x20) among p[0 ..< min(count, 16)] (count > 0). */
static inline uint32_t callsift_json_string_stop(const void *bytes, long count) {
    const uint8_t *p = (const uint8_t *)bytes;
    uint32_t live = callsift_low_bits(count);
#if defined(__SSE2__)
    __m128i v = callsift_load16(p, count);
    __m128i control = _mm_cmpeq_epi8(_mm_subs_epu8(v, _mm_set1_epi8(0x1F)), _mm_setzero_si128());
    __m128i hits = _mm_or_si128(control, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
    return (uint32_t)_mm_movemask_epi8(hits) & live;
#else
    uint32_t m = 0;
    long n = count < 16 ? count : 16;
    for (long i = 0; i < n; i++) if (p[i] == '"' || p[i] == '\\' || p[i] < 0x20) m |= 1u << i;
    return m;
#endif
}

#endif
