#!/usr/bin/env bash
# Sets up a fresh machine if needed, builds callsift (release) and analyses the bundled
# samples: three weeks of calls at a few centres, as zstd-compressed CSV.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product callsift >&2
export CALLSIFT_KEY="${CALLSIFT_KEY:-sample-key-not-secret}"
.build/release/callsift analyze --tz Europe/London --period week "$@" samples/calls.csv.zst
