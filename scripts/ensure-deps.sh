#!/usr/bin/env bash
# Installs what callsift needs on a fresh Debian machine, when it is missing:
# the C libraries it links (zstd, lz4, zlib) with pkg-config, and the zstd/lz4/gzip
# command-line tools the tests compare against, headless Chromium with a font for the
# browser tests (the accreditation report, the wallboard), and Playwright from PyPI to
# drive it (it uses Debian's chromium; it downloads no browser). Needs root (or sudo)
# only when something is missing.
set -euo pipefail
need=()
for pkg in libzstd-dev liblz4-dev zlib1g-dev pkg-config zstd lz4 gzip time chromium fonts-dejavu-core; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "Installing: ${need[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! python3 -c "import playwright" 2>/dev/null; then
    echo "Installing: playwright (PyPI)" >&2
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore playwright
fi
command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6.x)" >&2; exit 1; }
