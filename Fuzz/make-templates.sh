#!/usr/bin/env bash
# Makes the real files the state, checkpoint, report and toml fuzz targets start from
# (Fuzz/templates) and their seed corpora (Fuzz/corpus/{state,checkpoint,report,toml}),
# with the release binary. The same options give the same logs; the state files differ
# from run to run only where they record file identities (device, inode), which the
# targets rewrite anyway.
#
#   swift build -c release --product callsift && Fuzz/make-templates.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CS="$ROOT/.build/release/callsift"
T="$ROOT/Fuzz/templates"
C="$ROOT/Fuzz/corpus"
rm -rf "$T" "$C/state" "$C/checkpoint" "$C/report" "$C/toml"
mkdir -p "$T/state" "$T/checkpoint" "$C/state" "$C/checkpoint" "$C/report" "$C/toml"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# A fixed key (a fuzzing key, not a secret), private as callsift wants it.
key() { (umask 077; printf 'callsift fuzz templates key, not a secret' > "$1"); }

# Three days of two centres, a file per centre and day.
"$CS" generate --calls 120 --centres 2 --days 3 --seed 7 --split centre-day -o "$WORK/days/" >/dev/null
mapfile -t DAYS < <(find "$WORK/days" -type f | sort)

# state: two daily runs (days 1 and 2 of both centres) with a reason map; day 3 of the
# first centre is what the target's daily run feeds next.
key "$T/state/key"
for f in "${DAYS[@]}"; do
    case "$f" in *2026-03-02*|*2026-03-03*) "$CS" analyze --state "$T/state/dir" --key-file "$T/state/key" \
        --tz Europe/London --reason-map samples/reason-map.toml -o /dev/null "$f" ;; esac
done
cp "$(printf '%s\n' "${DAYS[@]}" | grep 2026-03-04 | head -1)" "$T/state/next.csv"
rm -f "$T/state/dir/callsift.lock"

# checkpoint: a follower stopped part way through a log (its first half), with the second
# half to be written after the checkpoint.
key "$T/checkpoint/key"
"$CS" generate --calls 80 --centres 1 --days 2 --seed 11 -o "$WORK/live.csv" >/dev/null
half=$(( $(wc -l < "$WORK/live.csv") / 2 ))
head -n "$half" "$WORK/live.csv" > "$T/checkpoint/live.csv"
tail -n +"$((half + 1))" "$WORK/live.csv" > "$T/checkpoint/more.csv"
( cd "$T/checkpoint" && exec "$CS" analyze --follow --state dir --key-file key --tz Europe/London \
    --emit-every 1s -o "$WORK/follow.json" live.csv ) 2>/dev/null &
pid=$!
sleep 4
kill -TERM "$pid"
wait "$pid"
rm -f "$T/checkpoint/dir/callsift.lock"

# report and toml: a week of two centres by service, and a small log with reason codes.
"$CS" generate --calls 150 --centres 2 --days 7 --seed 5 -o "$WORK/week.csv" >/dev/null
"$CS" analyze --tz Europe/London --period week -o "$T/report.json" "$WORK/week.csv"
head -n 200 "$WORK/week.csv" > "$T/calls.csv"

# Seeds. A state file's seed is byte 0 (which file, by its index among the folder's files
# by name; high bit set: the whole file rather than its payload) and the payload.
payload() { local n; n=$(stat -c %s "$1"); tail -c +17 "$1" | head -c $((n - 40)); }
i=0
for f in $(ls "$T/state/dir" | sort); do
    { printf "\\x$(printf %02x $i)"; payload "$T/state/dir/$f"; } > "$C/state/$f"
    i=$((i + 1))
done
{ printf '\x80'; cat "$T/state/dir/MANIFEST"; } > "$C/state/MANIFEST-whole"
{ printf '\x00'; payload "$T/checkpoint/dir/MANIFEST"; } > "$C/checkpoint/manifest"
{ printf '\x01'; payload "$T/checkpoint/dir/FOLLOW"; } > "$C/checkpoint/follow"
{ printf '\x03'; payload "$T/checkpoint/dir/FOLLOW"; } > "$C/checkpoint/follow-beside-manifest"
{ printf '\x81'; cat "$T/checkpoint/dir/FOLLOW"; } > "$C/checkpoint/follow-whole"
cp "$T/report.json" "$C/report/week-by-service.json"
"$CS" generate --calls 150 --centres 3 --days 7 --seed 6 -o "$WORK/other.csv" >/dev/null
"$CS" analyze --tz Europe/London --period week -o "$C/report/week-by-service-other.json" "$WORK/other.csv"
"$CS" analyze --tz Europe/London --period day --by centre --reason-map samples/reason-map.toml \
    -o "$C/report/day-by-centre-mapped.json" "$T/calls.csv"
"$CS" analyze --state "$T/state/dir" --tz Europe/London -o "$C/report/state-final.json"
rm -f "$T/state/dir/callsift.lock"
{ printf '\x00'; cat samples/standard.toml; } > "$C/toml/standard.toml"
{ printf '\x01'; cat samples/reason-map.toml; } > "$C/toml/reason-map.toml"
ls -l "$T" "$T"/*/ "$T"/*/dir "$C/state" "$C/checkpoint" "$C/report" "$C/toml"
