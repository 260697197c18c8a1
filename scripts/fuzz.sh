#!/usr/bin/env bash
# Builds callsift's libFuzzer targets and runs each for TIME seconds (default 60), one
# after another (or PARALLEL at a time), at the lowest CPU priority.
#
#   scripts/fuzz.sh 600                   every target, 10 minutes each
#   scripts/fuzz.sh 600 ctr queuelog      just these
#   PARALLEL=2 scripts/fuzz.sh 600        two at a time
#   scripts/fuzz.sh smoke                 each target once over the committed corpus only
#
# Targets: csv ndjson queuelog ctr (parsers and adapters), zstd lz4 gzip (decoders).
# New inputs go to .build-fuzz/corpus/TARGET (Fuzz/corpus/TARGET, committed, is the seed);
# crashes to .build-fuzz/artifacts/TARGET/. Logs: .build-fuzz/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")/.."
TIME="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(csv ndjson queuelog ctr zstd lz4 gzip)
PARALLEL="${PARALLEL:-1}"
OUT=.build-fuzz
BIN="$OUT/callsift-fuzz"
mkdir -p "$OUT"

# One binary for every target: the library's sources and Fuzz/FuzzTargets.swift as one
# module, so the targets reach internal types (the record parsers, InputCursor).
SOURCES=$(find Sources/CallSift -name '*.swift' | sort)
NEWEST=$(ls -t $SOURCES Fuzz/FuzzTargets.swift | head -1)
if [ ! -x "$BIN" ] || [ "$NEWEST" -nt "$BIN" ]; then
    echo "building $BIN" >&2
    nice -n 19 swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name CallSift \
        -I Sources/CZstd -I Sources/CLZ4 -I Sources/CZlib \
        $SOURCES Fuzz/FuzzTargets.swift -o "$BIN" 2> >(grep -v "Cannot export local symbol" >&2)
fi

maxlen() { case "$1" in zstd|lz4|gzip) echo 65536 ;; *) echo 16384 ;; esac; }

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
    CALLSIFT_FUZZ_TARGET="$t" nice -n 19 "$BIN" -max_total_time="$TIME" -max_len="$(maxlen "$t")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" \
        "$OUT/corpus/$t" Fuzz/corpus/"$t" > "$OUT/$t.log" 2>&1 || status=$?
    local stats
    stats=$(grep -E "^stat::(number_of_executed_units|peak_rss_mb)|cov: " "$OUT/$t.log" | tail -3 | tr '\n' ' ')
    echo "$t: exit $status, $TIME s; $stats"
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
