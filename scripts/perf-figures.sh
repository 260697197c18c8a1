#!/usr/bin/env bash
# Generates the data and prints the figures of the performance issue, measured side by
# side in one run (release build):
#   1. throughput on one zstd CSV, against `zstd -dc` (the floor) and DuckDB computing the
#      same counters from the same file (which also cross-checks every counter); the
#      file is read once first, and callsift and zstd each count their best of three runs;
#   2. scaling: events/s with 1 and 2 threads; events/s at growing sizes;
#   3. memory: peak RSS (/usr/bin/time -v) and bytes per caller-scope entry (--stats);
#   4. the real formats' input MB/s beside CSV's (scripts/bench-adapters.sh, 300,000 calls).
# The build measured is a plain `swift build -c release`, as anyone builds it.
# Allocation counts come from the package-benchmark suites: (cd Benchmarks && swift package benchmark).
#
# usage: scripts/perf-figures.sh [--calls N] [--sizes "1000000 10000000"] [--national] [--year] [--many-files] [--no-duckdb]
#   --calls N     size of the throughput file (default 10000000 at 40 centres over 28 days,
#                 about 29M events)
#   --sizes LIST  sizes for the scaling table (default "1000000 10000000"; add 100000000 for 100M)
#   --national    also the national profile, 40 centres and 1.1M calls a day: 30 days
#                 (33M calls) and 91 days (100M calls)
#   --year        also a national year: 440M calls over 365 days at 40 centres, about 1.3
#                 billion events (a 17 GB zstd file, about 16 minutes to generate)
#   --many-files  also the national profile (36 days) as one file and as one file per
#                 centre and day, and 91 days of daily files: wall and peak-RSS ratios
#   --only-many-files  just that table
#   --daily       daily runs with durable state on the national profile: days 1-35 fed one
#                 run per day into a state, then day 36's run from that state side by side
#                 with the one run over all 36 days; state size, load and save times
#   --daily-year  also a national year fed day by day (365 runs) against the one run over
#                 the year (generates the year split by day, about 20 minutes)
#   --only-daily  just the daily-run figures
set -euo pipefail
cd "$(dirname "$0")/.."
calls=10000000; sizes="1000000 10000000"; national=0; year=0; many=0; basic=1; duck=1; daily=0; dyear=0
while [ $# -gt 0 ]; do
    case "$1" in
        --calls) calls=$2; shift 2 ;;
        --sizes) sizes=$2; shift 2 ;;
        --national) national=1; shift ;;
        --many-files) many=1; shift ;;
        --only-many-files) many=1; basic=0; shift ;;
        --year) year=1; shift ;;
        --daily) daily=1; shift ;;
        --daily-year) daily=1; dyear=1; shift ;;
        --only-daily) daily=1; basic=0; shift ;;
        --no-duckdb) duck=0; shift ;;
        *) echo "unknown option $1" >&2; exit 64 ;;
    esac
done
scripts/ensure-deps.sh
if [ $duck = 1 ] && ! python3 -c "import duckdb" 2>/dev/null; then pip install -q duckdb; fi
if [ -n "${CALLSIFT_BIN:-}" ]; then
    B=$CALLSIFT_BIN  # another build to measure (an earlier commit's, side by side)
else
    swift build -c release --product callsift >&2
    B=$PWD/.build/release/callsift
fi
data=${CALLSIFT_BENCH_DIR:-/tmp/callsift-bench}
mkdir -p "$data"
export CALLSIFT_KEY=bench

gen() {  # calls centres days → path
    local f="$data/calls-$1-$2-$3.csv.zst"
    [ -s "$f" ] || "$B" generate --seed 1 --calls "$1" --centres "$2" --days "$3" --compress zstd -o "$f" >&2
    echo "$f"
}
timed() {  # command... → "seconds peak_kb" on stdout
    /usr/bin/time -f "%e %M" -o "$data/time.txt" "$@" > /dev/null 2> "$data/stderr.txt" || { cat "$data/stderr.txt" >&2; exit 1; }
    cat "$data/time.txt"
}
best_of_3() {  # command... → the fastest of three runs, as "seconds peak_kb"
    local best="" line
    for _ in 1 2 3; do
        line=$(timed "$@")
        if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN{exit !(a < b)}'; then best=$line; fi
    done
    echo "$best"
}
# From the --stats line of the last timed run: its event count, or the whole line.
events_of_last() { sed -n 's/.*stats: \([0-9]*\) events.*/\1/p' "$data/stderr.txt"; }
stats_of_last() { grep stats: "$data/stderr.txt" | sed 's/^/    /'; }

split() {  # calls days → folder of one file per centre and day, a folder per day
    local d="$data/split-$1-$2"
    if [ ! -d "$d" ]; then
        rm -rf "$d.tmp"
        "$B" generate --seed 1 --calls "$1" --centres 40 --days "$2" --compress zstd --split centre-day -o "$d.tmp" >&2
        mv "$d.tmp" "$d"
    fi
    echo "$d"
}
echo "# callsift performance figures ($(date -u +%Y-%m-%d), $(nproc) cores)"
if [ $basic = 1 ]; then
echo
f=$(gen "$calls" 40 28)
# Both from the page cache, and the fastest of three runs each: zstd's own times vary by
# almost 2x from run to run here (its reader and writer threads wait on each other).
cat "$f" > /dev/null
read -r zs _ < <(best_of_3 zstd -dc "$f")
read -r cs cm < <(best_of_3 "$B" analyze --stats "$f")
ev=$(events_of_last)
stats=$(stats_of_last)
echo "## 1. Throughput: $calls calls, $ev events, $(du -m "$f" | cut -f1) MB zstd CSV"
echo
echo "| what | wall s | peak RSS MB | events/s | ratio to callsift |"
echo "|---|---|---|---|---|"
awk -v s="$zs" -v e="$ev" -v c="$cs" 'BEGIN{printf "| zstd -dc > /dev/null (floor), best of 3 | %.2f | | %.0f | %.2f |\n", s, e/s, s/c}'
awk -v s="$cs" -v m="$cm" -v e="$ev" 'BEGIN{printf "| callsift analyze (default threads), best of 3 | %.2f | %.0f | %.0f | 1.00 |\n", s, m/1024, e/s}'
if [ $duck = 1 ]; then
    "$B" analyze --min-cell 0 "$f" -o "$data/callsift.json"
    read -r ds dm < <(timed python3 Benchmarks/scripts/duckdb_figures.py "$f")
    awk -v s="$ds" -v m="$dm" -v e="$ev" -v c="$cs" 'BEGIN{printf "| DuckDB, same counters, same file | %.2f | %.0f | %.0f | %.2f |\n", s, m/1024, e/s, s/c}'
    echo
    python3 Benchmarks/scripts/duckdb_figures.py "$f" "$data/callsift.json" 2>/dev/null || true
    echo
    awk -v z="$zs" -v c="$cs" -v d="$ds" 'BEGIN{printf "The plain release build: %.2fx the floor (target at most 2.0), %.1fx faster than DuckDB (target at least 10).\n", c/z, d/c}'
else
    echo
    awk -v z="$zs" -v c="$cs" 'BEGIN{printf "The plain release build: %.2fx the floor (target at most 2.0).\n", c/z}'
fi
echo
echo "## 2. Scaling"
echo
echo "| calls | events | threads | wall s | events/s | peak RSS MB |"
echo "|---|---|---|---|---|---|"
for n in $sizes; do
    g=$(gen "$n" 20 28)
    for t in 1 2; do
        read -r s m < <(timed "$B" analyze --stats --threads "$t" "$g")
        e=$(events_of_last)
        awk -v n="$n" -v e="$e" -v t="$t" -v s="$s" -v m="$m" 'BEGIN{printf "| %d | %d | %d | %.2f | %.0f | %.0f |\n", n, e, t, s, e/s, m/1024}'
    done
done
echo
echo "## 3. Memory"
echo
echo "$calls calls, default threads, peak RSS $((cm / 1024)) MB:"
echo "$stats"
echo
echo "## 4. Real formats beside CSV: 300,000 calls at one centre as plain files"
echo
echo "(input MB/s, best of three whole runs each; target: each format at least 0.5 of CSV's, CSV at least 350 MB/s)"
echo
echo '```'
CALLSIFT_BIN="$B" BENCH_DIR="$data" scripts/bench-adapters.sh 300000
echo '```'
fi
if [ $national = 1 ]; then
    g=$(gen 33000000 40 30)
    read -r s m < <(timed "$B" analyze --stats "$g")
    echo
    echo "30-day national profile (40 centres, 33M calls): $s s, peak RSS $((m / 1024)) MB"
    stats_of_last
    # 100M calls at the same density: a national quarter. Cost per event should not grow.
    g=$(gen 100000000 40 91)
    read -r s m < <(timed "$B" analyze --stats "$g")
    echo
    echo "91-day national quarter (40 centres, 100M calls): $s s, peak RSS $((m / 1024)) MB"
    stats_of_last
fi
if [ $many = 1 ]; then
    # The national profile (1.1M calls a day at 40 centres) as one zstd file and as one
    # file per centre and day (generate --split centre-day), read side by side; and three
    # months of daily files against one month, for memory.
    g=$(gen 39600000 40 36)
    d=$(split 39600000 36)
    cat "$g" > /dev/null; find "$d" -type f -exec cat {} + > /dev/null
    read -r s1 m1 < <(timed "$B" analyze "$g")
    read -r s2 m2 < <(timed "$B" analyze "$d")
    read -r s3 m3 < <(timed "$B" analyze --threads 1 "$d")
    files=$(find "$d" -type f | wc -l)
    echo
    echo "## 4. Many files: national profile, 36 days, 39.6M calls"
    echo
    echo "| run | wall s | peak RSS MB | wall ratio | RSS ratio |"
    echo "|---|---|---|---|---|"
    awk -v s="$s1" -v m="$m1" 'BEGIN{printf "| one zstd file | %.2f | %.0f | 1.00 | 1.00 |\n", s, m/1024}'
    awk -v s="$s2" -v m="$m2" -v a="$s1" -v b="$m1" -v n="$files" 'BEGIN{printf "| %d files (centre and day), default threads | %.2f | %.0f | %.2f | %.2f |\n", n, s, m/1024, s/a, m/b}'
    awk -v s="$s3" -v m="$m3" -v a="$s1" -v b="$m1" -v n="$files" 'BEGIN{printf "| %d files, --threads 1 | %.2f | %.0f | %.2f | %.2f |\n", n, s, m/1024, s/a, m/b}'
    q=$(split 100000000 91)
    find "$q" -type f -exec cat {} + > /dev/null
    read -r s4 m4 < <(timed "$B" analyze "$q")
    awk -v s="$s4" -v m="$m4" -v b="$m2" -v n="$(find "$q" -type f | wc -l)" 'BEGIN{printf "| 3 months, %d files (100M calls, 91 days) | %.2f | %.0f | | %.2f of the 36 days of files |\n", n, s, m/1024, m/b}'
fi
if [ $year = 1 ]; then
    g=$(gen 440000000 40 365)
    read -r s m < <(timed "$B" analyze --stats "$g")
    e=$(events_of_last)
    echo
    awk -v s="$s" -v e="$e" -v m="$m" 'BEGIN{printf "National year (40 centres, 440M calls, 365 days): %d events in %.1f s (%.1f min, %.0f events/s), peak RSS %.0f MB\n", e, s, s/60, e/s, m/1024}'
    stats_of_last
fi
if [ $daily = 1 ]; then
    # Daily runs (--state): the national profile, one run per day. The last generated
    # folder holds the few calls that run past the last day's midnight, so "day 36" is the
    # 36th folder together with it.
    feed_days() {  # folder state-dir first last → total seconds of runs first..last
        local d=$1 st=$2 total=0 i=0 s
        for day in $(ls "$d"); do
            i=$((i + 1))
            [ $i -lt "$3" ] && continue
            [ $i -gt "$4" ] && break
            read -r s _ < <(timed "$B" analyze --state "$st" "$d/$day")
            total=$(awk -v a="$total" -v b="$s" 'BEGIN{print a + b}')
        done
        echo "$total"
    }
    d=$(split 39600000 36)
    st=$data/daily-state
    rm -rf "$st" "$st.35"
    feed_days "$d" "$st" 1 35 > "$data/daily-35.txt"
    cp -a "$st" "$st.35"
    days=($(ls "$d"))
    last=("$d/${days[35]}" "$d/${days[36]}")
    cat $(find "${last[@]}" -type f) > /dev/null
    read -r s1 m1 < <(timed "$B" analyze "$d")
    read -r s2 m2 < <(timed "$B" analyze --stats --state "$st" "${last[@]}")
    stats=$(grep 'state:' "$data/stderr.txt" || true)
    # The same run again from the same state, for a second pair.
    rm -rf "$st"; cp -a "$st.35" "$st"
    read -r s3 m3 < <(timed "$B" analyze "$d")
    read -r s4 m4 < <(timed "$B" analyze --state "$st" "${last[@]}")
    # One centre's files of day 36 alone, from the same state: a centre's own cron.
    centre=$(ls "$d/${days[35]}" | head -1)
    mine=("$d/${days[35]}/$centre")
    [ -e "$d/${days[36]}/$centre" ] && mine+=("$d/${days[36]}/$centre")
    rm -rf "$st.c"; cp -a "$st.35" "$st.c"
    read -r s6 m6 < <(timed "$B" analyze --state "$st.c" "${mine[@]}")
    "$B" analyze --state "$st" -o "$data/daily.json"
    "$B" analyze "$d" -o "$data/one-run.json"
    same=$(python3 - "$data/daily.json" "$data/one-run.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
strip = lambda rows: [{k: v for k, v in r.items() if k != "final"} for r in rows]
ok = strip(a["rows"]) == strip(b["rows"]) and a["accounting"] == b["accounting"] and a["horizon"] == b["horizon"]
print("identical rows, accounting and horizon" if ok else "DIFFERENT")
PY
)
    echo
    echo "## 5. Daily runs: national profile, 36 days, one run per day"
    echo
    echo "Days 1-35 fed one run per day: $(cat "$data/daily-35.txt") s in all. Day 36 from that state ($same to the one run):"
    echo
    echo "| run | wall s | peak RSS MB | ratio |"
    echo "|---|---|---|---|"
    awk -v s="$s1" -v m="$m1" 'BEGIN{printf "| one run over all 36 days of files | %.2f | %.0f | 1.00 |\n", s, m/1024}'
    awk -v s="$s2" -v m="$m2" -v a="$s1" 'BEGIN{printf "| day 36 with --state | %.2f | %.0f | %.1fx faster |\n", s, m/1024, a/s}'
    awk -v s="$s3" -v m="$m3" 'BEGIN{printf "| one run again | %.2f | %.0f | 1.00 |\n", s, m/1024}'
    awk -v s="$s4" -v m="$m4" -v a="$s3" 'BEGIN{printf "| day 36 again | %.2f | %.0f | %.1fx faster |\n", s, m/1024, a/s}'
    awk -v s="$s6" -v m="$m6" -v a="$s4" -v c="$centre" 'BEGIN{printf "| day 36, one centre (%s) alone | %.2f | %.0f | %.2f of day 36 |\n", c, s, m/1024, s/a}'
    awk -v t="$(cat "$data/daily-35.txt")" -v s="$s2" -v a="$s1" 'BEGIN{printf "\nThe 36 daily runs together: %.1f s, %.2fx the one run.\n", t + s, (t + s)/a}'
    echo
    echo "$stats" | sed 's/^/    /'
    ls -l "$st.35" | sed 's/^/    /'
    if [ $dyear = 1 ]; then
        y=$(split 440000000 365)
        g=$(gen 440000000 40 365)
        rm -rf "$st.year"
        ty=$(feed_days "$y" "$st.year" 1 1000)
        read -r s5 m5 < <(timed "$B" analyze "$g")
        echo
        awk -v t="$ty" -v s="$s5" -v n="$(ls "$y" | wc -l)" 'BEGIN{printf "National year fed day by day: %d runs in %.1f min; the one run over the year %.1f min (%.2fx)\n", n, t/60, s/60, t/s}'
    fi
fi
