#!/usr/bin/env bash
# Times `callsift accredit` over a generated year of 40 centres (4 million calls,
# ~11.8 million events), as quoted in docs/accreditation.md. Writes into ${OUT:-/tmp/callsift-year}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/callsift-year}"
mkdir -p "$OUT"
swift build -c release --product callsift >&2
BIN="$(swift build -c release --show-bin-path)/callsift"
export CALLSIFT_KEY="${CALLSIFT_KEY:-benchmark-key-not-secret}"
[ -f "$OUT/year40.csv.zst" ] || "$BIN" generate --calls 4000000 --centres 40 --days 365 --start 2025-04-01 --compress zstd -o "$OUT/year40.csv.zst"
cat > "$OUT/standard.toml" <<'TOML'
name = "Contact Council standard: March 2026 (generated 40-centre year)"
min_cell = 10
[thresholds]
fcr_rate = ">= 0.70"
avoidable_rate = "<= 0.25"
service_level = ">= 0.80"
abandon_rate = "<= 0.05"
[period]
from = "2026-03-01"
to = "2026-03-31"
[baseline]
from = "2025-05-01"
to = "2025-05-31"
[[peer_group]]
name = "All centres"
[[peer_group]]
name = "Benefits centres"
services = ["benefits"]
[[peer_group]]
name = "Housing centres"
services = ["housing"]
TOML
# From raw logs: analysis and report in one run.
/usr/bin/time -f "accredit from logs: %e s wall, %M KB peak" "$BIN" accredit --timing --standard "$OUT/standard.toml" \
    --html "$OUT/report.html" --json "$OUT/report.json" --csv "$OUT/league.csv" "$OUT/year40.csv.zst" > "$OUT/summary.txt"
# From analyze JSON (one row per centre, service and day): the report part alone.
/usr/bin/time -f "analyze to JSON: %e s wall" "$BIN" analyze --quiet -o "$OUT/year40.json" "$OUT/year40.csv.zst"
/usr/bin/time -f "accredit from JSON: %e s wall, %M KB peak" "$BIN" accredit --timing --standard "$OUT/standard.toml" \
    --html "$OUT/report-from-json.html" "$OUT/year40.json" > /dev/null
