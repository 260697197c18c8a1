#!/usr/bin/env bash
# Counts unsafe code per target of Sources/ (docs/architecture.md, "Unsafe code, counted"):
# occurrences of each kind below in the Swift files of each target, comments left out.
#
#   scripts/unsafe-count.sh            the working tree
#   scripts/unsafe-count.sh REV        the tree of git revision REV (main, say)
#
# Kinds:
#   unchecked  @unchecked Sendable
#   pointer    UnsafePointer, UnsafeMutablePointer, UnsafeRawPointer, UnsafeMutableRawPointer,
#              UnsafeBufferPointer, UnsafeMutableBufferPointer, UnsafeRawBufferPointer,
#              UnsafeMutableRawBufferPointer
#   address    unsafeAddress, unsafeMutableAddress (accessors)
#   bitcast    unsafeBitCast
#   withUnsafe withUnsafe* (withUnsafeBytes, withUnsafeMutablePointer, ...)
#   unmanaged  Unmanaged
set -euo pipefail
cd "$(dirname "$0")/.."

root=Sources
if [ $# -gt 0 ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    git archive "$1" Sources | tar -x -C "$tmp"
    root="$tmp/Sources"
fi

kinds=(unchecked pointer address bitcast withUnsafe unmanaged)
patterns=(
    '@unchecked[[:space:]]+Sendable'
    '\bUnsafe(Mutable)?(Raw)?(Buffer)?Pointer\b'
    '\bunsafe(Mutable)?Address\b'
    '\bunsafeBitCast\b'
    '\bwithUnsafe[A-Za-z]*\b'
    '\bUnmanaged\b'
)

# Swift source without comments: whole-line comments dropped, trailing `// ...` cut.
# (A "//" inside a string literal would cut its line short; the sources have none that
# hide a counted word.)
strip() {
    find "$1" -name '*.swift' -print0 | xargs -0 -r cat |
        sed -E -e '/^[[:space:]]*\/\//d' -e 's#[[:space:]]//.*$##'
}

printf '%-22s' target
for k in "${kinds[@]}"; do printf '%11s' "$k"; done
printf '%8s\n' total
declare -a sums
for i in "${!kinds[@]}"; do sums[$i]=0; done
for dir in "$root"/*/; do
    target=$(basename "$dir")
    ls "$dir" | grep -q . || continue
    code=$(strip "$dir")
    total=0
    row=$(printf '%-22s' "$target")
    for i in "${!kinds[@]}"; do
        n=$(printf '%s\n' "$code" | grep -oE "${patterns[$i]}" | wc -l || true)
        row+=$(printf '%11d' "$n")
        total=$((total + n))
        sums[$i]=$((sums[$i] + n))
    done
    # Targets without Swift (the C shims) show zeros; leave them out.
    [ -n "$code" ] || continue
    printf '%s%8d\n' "$row" "$total"
done
printf '%-22s' all
all=0
for i in "${!kinds[@]}"; do printf '%11d' "${sums[$i]}"; all=$((all + sums[$i])); done
printf '%8d\n' "$all"
