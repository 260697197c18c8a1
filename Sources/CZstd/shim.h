// The buffer-less decoding API (ZSTD_decompressContinue and its helpers) is declared only
// for static linking, but libzstd exports it; InputReader decodes through it in place.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>
