#!/usr/bin/env bash
# Builds callsift's libFuzzer targets and runs each for TIME seconds (default 60), one
# after another (or PARALLEL at a time), at the lowest CPU priority.
#
#   scripts/fuzz.sh 600                   every target, 10 minutes each
#   scripts/fuzz.sh 600 ctr queuelog      just these
#   PARALLEL=2 scripts/fuzz.sh 600        two at a time
#   scripts/fuzz.sh smoke                 each target once over the committed corpus only
#
# Targets: csv ndjson queuelog ctr (parsers and adapters), zstd lz4 gzip (decoders),
# multi (2-6 inputs at once, mixed formats and compressions, at 1 and 2 threads).
# New inputs go to .build-fuzz/corpus/TARGET (Fuzz/corpus/TARGET, committed, is the seed);
# crashes to .build-fuzz/artifacts/TARGET/. Logs: .build-fuzz/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")/.."
TIME="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(csv ndjson queuelog ctr zstd lz4 gzip multi)
PARALLEL="${PARALLEL:-1}"
OUT=.build-fuzz
BIN="$OUT/callsift-fuzz"
mkdir -p "$OUT"

# One binary for every target: the library's sources and Fuzz/FuzzTargets.swift as one
# module, so the targets reach internal types (the record parsers, InputCursor). The
# modules the library imports are built before it, each on its own with the same flags,
# into $OUT/deps: Atomics (from the swift-atomics checkout that `swift package resolve`
# makes, with its C shim) and CallSiftConcurrency; CZstd, CLZ4, CZlib and CMemory are
# C headers (module maps) found with -I. Each step runs again when its inputs change.
SWIFTC=(nice -n 19 swiftc -O -sanitize=fuzzer,address -parse-as-library -swift-version 5)
DEPS="$OUT/deps"
ATOMICS=.build/checkouts/swift-atomics
SHIMS="$ATOMICS/Sources/_AtomicsShims"
mkdir -p "$DEPS"
# True when the file $1 is missing or older than any file (or folder) that follows.
stale() { local out="$1"; shift; [ ! -e "$out" ] || [ -n "$(find "$@" -newer "$out" -print -quit)" ]; }
swift_files() { find "$@" -name '*.swift' | sort; }

if [ ! -d "$ATOMICS/Sources/Atomics" ]; then
    echo "resolving the package's dependencies" >&2
    swift package resolve >&2
fi
if stale "$DEPS/Atomics.o" "$ATOMICS/Sources"; then
    echo "building $DEPS/Atomics.o" >&2
    CLANG="$(dirname "$(command -v swiftc)")/clang"
    [ -x "$CLANG" ] || CLANG=clang
    nice -n 19 "$CLANG" -O2 -fsanitize=fuzzer-no-link,address -I "$SHIMS/include" \
        -c "$SHIMS/src/_AtomicsShims.c" -o "$DEPS/_AtomicsShims.o"
    mapfile -t ATOMICS_SOURCES < <(swift_files "$ATOMICS/Sources/Atomics")
    "${SWIFTC[@]}" -wmo -module-name Atomics -enable-experimental-feature BuiltinModule -I "$SHIMS/include" \
        -emit-module -emit-module-path "$DEPS/Atomics.swiftmodule" -c "${ATOMICS_SOURCES[@]}" -o "$DEPS/Atomics.o"
    touch "$DEPS/Atomics.o"   # swiftc does not rewrite an unchanged output; mark it as up to date
fi
if stale "$DEPS/CallSiftConcurrency.o" Sources/CallSiftConcurrency Sources/CMemory "$DEPS/Atomics.o"; then
    echo "building $DEPS/CallSiftConcurrency.o" >&2
    mapfile -t CONCURRENCY_SOURCES < <(swift_files Sources/CallSiftConcurrency)
    "${SWIFTC[@]}" -wmo -module-name CallSiftConcurrency -I "$DEPS" -I "$SHIMS/include" -I Sources/CMemory \
        -emit-module -emit-module-path "$DEPS/CallSiftConcurrency.swiftmodule" \
        -c "${CONCURRENCY_SOURCES[@]}" -o "$DEPS/CallSiftConcurrency.o"
    touch "$DEPS/CallSiftConcurrency.o"   # likewise
fi
if stale "$BIN" Sources/CallSift Sources/CZstd Sources/CLZ4 Sources/CZlib Sources/CMemory \
        Fuzz/FuzzTargets.swift "$DEPS/CallSiftConcurrency.o"; then
    echo "building $BIN" >&2
    mapfile -t SOURCES < <(swift_files Sources/CallSift)
    "${SWIFTC[@]}" -module-name CallSift \
        -I Sources/CZstd -I Sources/CLZ4 -I Sources/CZlib -I Sources/CMemory -I "$DEPS" -I "$SHIMS/include" \
        "${SOURCES[@]}" Fuzz/FuzzTargets.swift "$DEPS/_AtomicsShims.o" "$DEPS/Atomics.o" "$DEPS/CallSiftConcurrency.o" \
        -o "$BIN" 2> >(grep -v "Cannot export local symbol" >&2)
fi

maxlen() { case "$1" in zstd|lz4|gzip|multi) echo 65536 ;; *) echo 16384 ;; esac; }

run_one() {
    local t="$1"
    mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t"
    if [ "$TIME" = smoke ]; then
        CALLSIFT_FUZZ_TARGET="$t" "$BIN" -runs=0 -max_len="$(maxlen "$t")" -timeout=10 \
            Fuzz/corpus/"$t" > "$OUT/$t.log" 2>&1 || { tail -30 "$OUT/$t.log"; return 1; }
        echo "$t: corpus ok ($(ls Fuzz/corpus/$t | wc -l) inputs)"
        return 0
    fi
    local status=0
    # CPU time as well as wall time: at the lowest priority on a busy machine a target may
    # get much less of a core than its wall time.
    CALLSIFT_FUZZ_TARGET="$t" /usr/bin/time -f "%U %S" -o "$OUT/$t.cpu" nice -n 19 "$BIN" -max_total_time="$TIME" \
        -max_len="$(maxlen "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" \
        "$OUT/corpus/$t" Fuzz/corpus/"$t" > "$OUT/$t.log" 2>&1 || status=$?
    local stats cpu
    stats=$(grep -E "^stat::(number_of_executed_units|peak_rss_mb)|cov: " "$OUT/$t.log" | tail -3 | tr '\n' ' ')
    cpu=$(awk '{printf "%.0f", $1 + $2}' "$OUT/$t.cpu" 2>/dev/null || echo "?")
    echo "$t: exit $status, $TIME s wall, $cpu CPU-s; $stats"
    [ "$status" = 0 ] || grep -E "^==|ERROR|Fatal|fatal|Precondition|artifact" "$OUT/$t.log" | head -5
    return $status
}

status=0
running=0
for t in "${TARGETS[@]}"; do
    if [ "$PARALLEL" -gt 1 ]; then
        run_one "$t" &
        running=$((running + 1))
        if [ "$running" -ge "$PARALLEL" ]; then wait -n || status=1; running=$((running - 1)); fi
    else
        run_one "$t" || status=1
    fi
done
while [ "$running" -gt 0 ]; do wait -n || status=1; running=$((running - 1)); done
exit $status
