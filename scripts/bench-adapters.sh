#!/usr/bin/env bash
# How fast each adapter reads, next to the canonical CSV path: the same generated calls
# (one centre, so that queue_log can hold them) as CSV, as queue_log (the file and the
# database-export form), as contact trace records (NDJSON and one JSON array) and as
# Genesys Cloud conversation records, each analysed by a plain release build;
# input MB per second and events per second (accounting.events / wall time), and each
# one's ratio to CSV. The best of RUNS runs (default 3) counts.
#
#   scripts/bench-adapters.sh [CALLS]        default 1,000,000 calls
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS="${1:-1000000}"
RUNS="${RUNS:-3}"
DIR="${BENCH_DIR:-.build-bench}"
mkdir -p "$DIR"
if [ -n "${CALLSIFT_BIN:-}" ]; then
    BIN=$CALLSIFT_BIN  # another build to measure (an earlier commit's, side by side)
else
    swift build -c release --product callsift >&2
    BIN=.build/release/callsift
fi
if [ ! -s "$DIR/genesys-$CALLS.ndjson" ]; then
    "$BIN" generate --calls "$CALLS" --centres 1 --days 28 -o "$DIR/calls-$CALLS.csv"
    python3 scripts/to-adapter-formats.py "$DIR/calls-$CALLS.csv" "$DIR/queue_log-$CALLS" "$DIR/ctr-$CALLS.ndjson" \
        "$DIR/genesys-$CALLS.ndjson"
fi
if [ ! -s "$DIR/ctr-$CALLS.json" ]; then
    # The same records in the other forms: queue_log as the realtime table's CSV export
    # (time as a datetime, data1..data5), contact trace records as one JSON array.
    python3 - "$DIR/queue_log-$CALLS" "$DIR/queue_log-$CALLS.csv" "$DIR/ctr-$CALLS.ndjson" "$DIR/ctr-$CALLS.json" <<'PY'
import csv, datetime, sys
qlog, export, ndjson, array = sys.argv[1:]
with open(qlog) as src, open(export, "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(["time", "callid", "queuename", "agent", "event", "data1", "data2", "data3", "data4", "data5"])
    for line in src:
        f = line.rstrip("\n").split("|")
        t = datetime.datetime.fromtimestamp(int(f[0]), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        w.writerow([t] + f[1:5] + (f[5:] + [""] * 5)[:5])
with open(ndjson) as src, open(array, "w") as out:
    out.write("[\n" + ",\n".join(l.rstrip("\n") for l in src if l.strip()) + "\n]\n")
PY
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
read -r tx ex < <(best "$DIR/queue_log-$CALLS.csv" --centre C01)
read -r tr er < <(best "$DIR/ctr-$CALLS.ndjson")
read -r ta ea < <(best "$DIR/ctr-$CALLS.json")
read -r tg eg < <(best "$DIR/genesys-$CALLS.ndjson" --centre C01)
mb() { echo "$(stat -c %s "$1") / 1048576" | bc -l; }
mbs() { echo "$(mb "$1") / $2" | bc -l; }
mc=$(mbs "$DIR/calls-$CALLS.csv" "$tc")
rc=$(echo "$ec / $tc" | bc -l)
printf "%-10s %9s %11s %8s %8s %8s %12s %8s\n" input MB events seconds MB/s "vs CSV" events/s "vs CSV"
for row in "csv $DIR/calls-$CALLS.csv $ec $tc" "queue_log $DIR/queue_log-$CALLS $eq $tq" \
    "ql-export $DIR/queue_log-$CALLS.csv $ex $tx" "ctr $DIR/ctr-$CALLS.ndjson $er $tr" "ctr-array $DIR/ctr-$CALLS.json $ea $ta" \
    "genesys $DIR/genesys-$CALLS.ndjson $eg $tg"; do
    set -- $row
    m=$(mbs "$2" "$4"); e=$(echo "$3 / $4" | bc -l)
    printf "%-10s %9.1f %11d %8.2f %8.1f %8.2f %12.0f %8.2f\n" "$1" "$(mb "$2")" "$3" "$4" "$m" "$(echo "$m / $mc" | bc -l)" \
        "$e" "$(echo "$e / $rc" | bc -l)"
done
