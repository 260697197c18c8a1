#!/usr/bin/env bash
# The wallboard's figures: how soon the page shows an append, what an idle server costs,
# and how many /metrics requests a second it answers while the follower is busy, with
# dozens of pages open. Uses a release build, generated calls, wrk (Debian's) and the
# browser check (scripts/wallboard-browser-check.py).
#
#   scripts/wallboard-figures.sh          CALLSIFT_BIN=... to measure another build
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${CALLSIFT_BIN:-}" ]; then BIN=$CALLSIFT_BIN; else swift build -c release --product callsift >&2; BIN=.build/release/callsift; fi
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
export CALLSIFT_KEY=figures
# A week at four centres (200,000 calls): enough for the writer below to keep the follower
# busy throughout.
"$BIN" generate --seed 30 --calls 200000 --centres 4 --days 7 -o "$dir/all.csv" 2> /dev/null
n=$(wc -l < "$dir/all.csv")
head -n $((n / 2)) "$dir/all.csv" > "$dir/log.csv"
sed -n "$((n / 2 + 1)),$((n / 2 + 2000))p" "$dir/all.csv" > "$dir/burst.csv"
tail -n +$((n / 2 + 2001)) "$dir/all.csv" > "$dir/rest.csv"
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # user + system, in clock ticks
tick=$(getconf CLK_TCK)
port=18471
"$BIN" analyze --follow --emit-every 1s --serve ":$port" -o "$dir/today.json" "$dir/log.csv" 2> "$dir/follower.txt" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.2; done

echo "1. Update latency: a burst of 2000 lines appended while the page is open (--emit-every 1s)"
python3 scripts/wallboard-browser-check.py "http://127.0.0.1:$port" "$dir/log.csv" "$dir/burst.csv"

echo "2. CPU of an idle follower and server over 60 s"
sleep 3
a=$(cpu $pid); sleep 60; b=$(cpu $pid)
echo "   no client: $(echo "($b - $a) / $tick" | bc -l | xargs printf '%.2f') CPU-s in 60 s"
curl -sN "http://127.0.0.1:$port/events" > /dev/null &
sse=$!
sleep 3
a=$(cpu $pid); sleep 60; b=$(cpu $pid)
kill $sse
echo "   one page open (/events): $(echo "($b - $a) / $tick" | bc -l | xargs printf '%.2f') CPU-s in 60 s"

echo "3. /metrics under load while the follower is busy and 40 pages follow /events"
for i in $(seq 40); do curl -sN "http://127.0.0.1:$port/events" > "$dir/sse-$i.txt" & done
# The writer: the rest of the sample, 4000 lines a second.
awk -v f="$dir/log.csv" '{ print >> f; if (NR % 400 == 0) { fflush(f); system("sleep 0.1") } }' "$dir/rest.csv" &
writer=$!
sleep 2
before=$(grep -c . "$dir/log.csv")
wrk -t2 -c32 -d15s "http://127.0.0.1:$port/metrics" | sed 's/^/   /'
echo "   /healthz after: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")"
sleep 2
got=0
for i in $(seq 40); do [ "$(grep -c '^event: board' "$dir/sse-$i.txt")" -ge 10 ] && got=$((got + 1)); done
echo "   pages that got at least 10 updates during the 19 s: $got of 40"
kill $writer 2>/dev/null || true
kill -TERM $pid; wait $pid && echo "   the follower stopped with status 0"
