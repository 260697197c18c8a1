#!/usr/bin/env bash
# Sets up a fresh machine if needed, then builds and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build --build-tests
swift test --skip-build "$@"
