#!/usr/bin/env bash
# The wallboard on the bundled samples, live: a log grown from samples/calls.csv.zst a
# burst of lines every second (as a telephony system writes one), followed by callsift
# with --serve. Open http://127.0.0.1:${PORT:-8080}/ and watch it change; Ctrl-C stops both.
#
#   scripts/wallboard-demo.sh            PORT=9090 scripts/wallboard-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product callsift >&2
PORT="${PORT:-8080}"
dir=$(mktemp -d)
trap 'kill 0 2>/dev/null; rm -rf "$dir"' EXIT
export CALLSIFT_KEY="${CALLSIFT_KEY:-sample-key-not-secret}"
zstd -dc samples/calls.csv.zst > "$dir/all.csv"
head -1 "$dir/all.csv" > "$dir/log.csv"
# The writer: 400 lines a second, in order, until the sample ends.
awk -v f="$dir/log.csv" 'NR > 1 { print >> f; if (NR % 400 == 0) { fflush(f); system("sleep 1") } }' "$dir/all.csv" &
echo "callsift: the wallboard is at http://127.0.0.1:$PORT/ (Ctrl-C stops)" >&2
.build/release/callsift analyze --follow --emit-every 1s --tz Europe/London --serve ":$PORT" \
    -o "$dir/today.json" "$dir/log.csv"
