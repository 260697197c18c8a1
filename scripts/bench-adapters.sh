#!/usr/bin/env bash
# How fast each adapter reads, next to the canonical CSV path: the same generated calls
# (one centre, so that queue_log can hold them) as CSV, as queue_log and as contact trace
# records, each analysed by a release build; events per second (accounting.events / wall
# time) and the ratio to CSV. The best of RUNS runs (default 3) counts.
#
#   scripts/bench-adapters.sh [CALLS]        default 1,000,000 calls
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS="${1:-1000000}"
RUNS="${RUNS:-3}"
DIR="${BENCH_DIR:-.build-bench}"
mkdir -p "$DIR"
# The release flags this package keeps for its own builds (Package.swift).
export CALLSIFT_RELEASE_FLAGS=1
swift build -c release --product callsift --scratch-path .build-adapters >&2
BIN=.build-adapters/release/callsift
if [ ! -s "$DIR/calls-$CALLS.csv" ]; then
    "$BIN" generate --calls "$CALLS" --centres 1 --days 28 -o "$DIR/calls-$CALLS.csv"
    python3 scripts/to-adapter-formats.py "$DIR/calls-$CALLS.csv" "$DIR/queue_log-$CALLS" "$DIR/ctr-$CALLS.ndjson"
fi
export CALLSIFT_KEY=bench
best() {  # best wall seconds and the events of the run
    local input="$1"; shift
    local b=""
    local events=""
    for _ in $(seq "$RUNS"); do
        local start end
        start=$(date +%s.%N)
        "$BIN" analyze --quiet "$@" "$input" > "$DIR/out.json"
        end=$(date +%s.%N)
        local t
        t=$(echo "$end - $start" | bc -l)
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
        events=$(grep -m1 '"events"' "$DIR/out.json" | tr -dc 0-9)
    done
    echo "$b $events"
}
read -r tc ec < <(best "$DIR/calls-$CALLS.csv")
read -r tq eq < <(best "$DIR/queue_log-$CALLS" --centre C01)
read -r tr er < <(best "$DIR/ctr-$CALLS.ndjson")
rate() { echo "$2 / $1" | bc -l; }
rc=$(rate "$tc" "$ec"); rq=$(rate "$tq" "$eq"); rr=$(rate "$tr" "$er")
printf "%-10s %10s %12s %8s %14s %8s\n" input MB events seconds events/s "vs CSV"
for row in "csv $DIR/calls-$CALLS.csv $ec $tc $rc" "queue_log $DIR/queue_log-$CALLS $eq $tq $rq" "ctr $DIR/ctr-$CALLS.ndjson $er $tr $rr"; do
    set -- $row
    printf "%-10s %10.1f %12d %8.2f %14.0f %8.2f\n" "$1" "$(echo "$(stat -c %s "$2") / 1048576" | bc -l)" "$3" "$4" "$5" "$(echo "$5 / $rc" | bc -l)"
done
