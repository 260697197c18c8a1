#!/usr/bin/env bash
# Builds callsift's libFuzzer targets and runs each for TIME seconds (default 60), one
# after another (or PARALLEL at a time), at the lowest CPU priority.
#
#   scripts/fuzz.sh 600                   every target, 10 minutes each
#   scripts/fuzz.sh 600 ctr queuelog      just these
#   PARALLEL=2 scripts/fuzz.sh 600        two at a time
#   scripts/fuzz.sh smoke                 each target once over the committed corpus only
#   scripts/fuzz.sh merge [TARGET...]     minimise what the runs found into Fuzz/corpus
#
# Targets: csv ndjson queuelog ctr genesys (parsers and adapters), zstd lz4 gzip (decoders),
# multi (2-6 inputs at once, mixed formats and compressions, at 1 and 2 threads); the
# readers of callsift's own files: state (a --state folder's files), checkpoint (the
# --follow checkpoint, as a restart reads it), report (analyze JSON as merge and accredit
# read it), toml (a standard and a reason map). The state and checkpoint targets damage
# one file of a real state folder, Fuzz/templates/state or Fuzz/templates/checkpoint.
# New inputs go to .build-fuzz/corpus/TARGET (Fuzz/corpus/TARGET, committed, is the seed);
# crashes to .build-fuzz/artifacts/TARGET/. Logs: .build-fuzz/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")/.."
TIME="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(csv ndjson queuelog ctr genesys zstd lz4 gzip multi state checkpoint report toml)
PARALLEL="${PARALLEL:-1}"
OUT=.build-fuzz
BIN="$OUT/callsift-fuzz"
mkdir -p "$OUT"

# One binary for every target. The layers (CallSiftCore, CallSiftInput, CallSiftFormats,
# the engine CallSift and CallSiftAccredit, whose report and standard readers the report
# and toml targets call) are each built as a module of their own with the same
# instrumentation and the same package name, so that their `package` declarations are in
# reach; CallSift with -enable-testing, so that Fuzz/FuzzTargets.swift (a module of its
# own, CallSiftFuzz) reaches its internal types with `@testable import` (the state
# container, InputParser). The modules from other packages (Atomics, HeapModule,
# SystemPackage, TOMLKit with its C++ toml++) and CallSiftConcurrency are taken from an
# ordinary release build, not instrumented. Each step runs again when its inputs change.
SWIFTC=(nice -n 19 swiftc -O -sanitize=fuzzer,address -parse-as-library -swift-version 5 -package-name callsift)
DEPS="$OUT/deps"
REL=.build/release
mkdir -p "$DEPS"
# True when the file $1 is missing or older than any file (or folder) that follows.
stale() { local out="$1"; shift; [ ! -e "$out" ] || [ -n "$(find "$@" -newer "$out" -print -quit)" ]; }
swift_files() { find "$@" -name '*.swift' | sort; }

scripts/ensure-deps.sh   # the C libraries, on a fresh machine
echo "building the dependencies (release)" >&2
swift build -c release --product callsift >&2
INCLUDES=(-I "$DEPS" -I "$REL/Modules" -I Sources/CZstd -I Sources/CLZ4 -I Sources/CZlib -I Sources/CMemory
    -I .build/checkouts/swift-atomics/Sources/_AtomicsShims/include -I .build/checkouts/swift-system/Sources/CSystem/include
    -I .build/checkouts/TOMLKit/Sources/CTOML/include)
# Object files of the modules taken as built: every .o of their targets.
mapfile -t PREBUILT < <(find "$REL/Atomics.build" "$REL/_AtomicsShims.build" "$REL/HeapModule.build" \
    "$REL/InternalCollectionsUtilities.build" "$REL/SystemPackage.build" "$REL/CSystem.build" \
    "$REL/CallSiftConcurrency.build" "$REL/TOMLKit.build" "$REL/CTOML.build" -name '*.o' 2>/dev/null | sort)
# The modules of those, by file: the Modules folder itself changes on every build, even
# one with nothing to do.
PREBUILT_MODULES=()
for m in Atomics HeapModule InternalCollectionsUtilities SystemPackage CallSiftConcurrency TOMLKit; do
    PREBUILT_MODULES+=("$REL/Modules/$m.swiftmodule")
done
LAYERS=()
layer() {  # name [swiftc flags...] → $DEPS/name.o and its module, from Sources/name
    local name="$1"
    shift
    # Rebuilt when its sources, the prebuilt modules or a layer beneath it change.
    if stale "$DEPS/$name.o" "Sources/$name" "${PREBUILT_MODULES[@]}" ${LAYERS[@]+"${LAYERS[@]}"}; then
        echo "building $DEPS/$name.o" >&2
        mapfile -t FILES < <(swift_files "Sources/$name")
        "${SWIFTC[@]}" "$@" -wmo -module-name "$name" "${INCLUDES[@]}" -emit-module -emit-module-path "$DEPS/$name.swiftmodule" \
            -c "${FILES[@]}" -o "$DEPS/$name.o"
        touch "$DEPS/$name.o"   # swiftc does not rewrite an unchanged output; mark it as up to date
    fi
    LAYERS+=("$DEPS/$name.o")
}
layer CallSiftCore
layer CallSiftInput
layer CallSiftFormats
layer CallSift -enable-testing
layer CallSiftAccredit
# The state damage the state and checkpoint targets make is shared with the tests that
# replay their findings (FuzzedStateTests): one file, a source of the test target too.
FUZZ_SOURCES=(Fuzz/FuzzTargets.swift Tests/CallSiftTests/StateDamage.swift)
if stale "$BIN" ${LAYERS[@]+"${LAYERS[@]}"} "${FUZZ_SOURCES[@]}"; then
    echo "building $BIN" >&2
    "${SWIFTC[@]}" -module-name CallSiftFuzz "${INCLUDES[@]}" "${FUZZ_SOURCES[@]}" "${LAYERS[@]}" \
        "${PREBUILT[@]}" -lzstd -llz4 -lz -lstdc++ -o "$BIN" 2> >(grep -v "Cannot export local symbol" >&2)
fi

# The state and checkpoint targets' inputs are a state file's payload (the template's are
# a few KB); a report or a TOML file is rarely longer than a few KB either.
maxlen() { case "$1" in zstd|lz4|gzip|multi) echo 65536 ;; state|checkpoint) echo 32768 ;; *) echo 16384 ;; esac; }

# Leak checks are off where the leaks are the libraries' own, small and once per file
# read: TOMLKit's accessors (strdup'ed strings, key lists) and Foundation's
# FileManager.contents(atPath:) as LeakSanitizer sees it.
leaks() { case "$1" in report|toml) echo 0 ;; *) echo 1 ;; esac; }

# A hang is an input that takes over 60 s of wall time. The targets run at the lowest
# priority, and on a busy machine an input of milliseconds waited over 10 s for a core
# (every one of four such "timeouts" replayed in 0.1 s).
run_one() {
    local t="$1"
    mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t"
    if [ "$TIME" = merge ]; then
        # The inputs of the committed corpus and of the runs that add coverage, into a new
        # folder that replaces the committed one. The inputs with names (seeds written by
        # hand, regression-*) are kept whatever they add; the fuzzer names its own by hash.
        local merged="$OUT/merged/$t"
        rm -rf "$merged" && mkdir -p "$merged"
        CALLSIFT_FUZZ_TARGET="$t" ASAN_OPTIONS="detect_leaks=0" "$BIN" -merge=1 -max_len="$(maxlen "$t")" -timeout=60 \
            -detect_leaks=0 -rss_limit_mb=2048 "$merged" Fuzz/corpus/"$t" "$OUT/corpus/$t" > "$OUT/$t.merge.log" 2>&1 ||
            { tail -30 "$OUT/$t.merge.log"; return 1; }
        find Fuzz/corpus/"$t" -type f -regextype posix-extended ! -regex '.*/[0-9a-f]{40}' -exec cp {} "$merged"/ \;
        rm -rf Fuzz/corpus/"$t" && mv "$merged" Fuzz/corpus/"$t"
        echo "$t: $(ls Fuzz/corpus/$t | wc -l) inputs, $(du -sk Fuzz/corpus/$t | cut -f1) KB in Fuzz/corpus/$t"
        return 0
    fi
    if [ "$TIME" = smoke ]; then
        CALLSIFT_FUZZ_TARGET="$t" ASAN_OPTIONS="detect_leaks=$(leaks "$t")" "$BIN" -runs=0 -max_len="$(maxlen "$t")" \
            -timeout=60 -detect_leaks="$(leaks "$t")" -artifact_prefix="$OUT/artifacts/$t/" \
            Fuzz/corpus/"$t" > "$OUT/$t.log" 2>&1 || { tail -30 "$OUT/$t.log"; return 1; }
        echo "$t: corpus ok ($(ls Fuzz/corpus/$t | wc -l) inputs)"
        return 0
    fi
    local status=0
    # CPU time as well as wall time: at the lowest priority on a busy machine a target may
    # get much less of a core than its wall time.
    CALLSIFT_FUZZ_TARGET="$t" ASAN_OPTIONS="detect_leaks=$(leaks "$t")" /usr/bin/time -f "%U %S" -o "$OUT/$t.cpu" nice -n 19 "$BIN" -max_total_time="$TIME" \
        -max_len="$(maxlen "$t")" -timeout=60 -detect_leaks="$(leaks "$t")" -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" \
        "$OUT/corpus/$t" Fuzz/corpus/"$t" > "$OUT/$t.log" 2>&1 || status=$?
    local stats cpu
    stats=$(grep -aE "^stat::(number_of_executed_units|peak_rss_mb)|cov: " "$OUT/$t.log" | tail -3 | tr '\n' ' ')
    # The last line: time writes "Command exited with non-zero status N" before it.
    cpu=$(tail -1 "$OUT/$t.cpu" 2>/dev/null | awk '{printf "%.0f", $1 + $2}' || echo "?")
    echo "$t: exit $status, $TIME s wall, $cpu CPU-s; $stats"
    [ "$status" = 0 ] || grep -aE "^==|ERROR|Fatal|fatal|Precondition|artifact" "$OUT/$t.log" | head -5
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
