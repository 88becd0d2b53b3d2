#!/usr/bin/env bash
# Symbolization speed: profdiff's in-process symbolizer (examples/symbolize.rs) vs binutils
# `addr2line -f -i -C -e BIN`, both given the same N instruction addresses of one large binary
# with full debug info (the release-built example itself, DWARF level 2, ~all of profdiff and
# its dependencies), each in one process. Also reports how many answers agree.
#
# Usage: scripts/bench/symbolize.sh [N]        (default N=4000; needs hyperfine, binutils)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-4000}
TD=target/bench-dbg
CARGO_PROFILE_RELEASE_DEBUG=2 cargo build --release --example symbolize --target-dir "$TD" >&2
BIN=$TD/release/examples/symbolize
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

objdump -d -j .text "$BIN" | awk '/^ +[0-9a-f]+:\t/ { sub(":", "", $1); print $1 }' > "$work/all.txt"
total=$(wc -l < "$work/all.txt")
step=$(( total / N )); [ "$step" -ge 1 ] || step=1
awk -v s="$step" 'NR % s == 0' "$work/all.txt" | head -n "$N" > "$work/addrs.txt"
echo "binary: $BIN ($(du -h "$BIN" | cut -f1)), $total instructions in .text, $(wc -l < "$work/addrs.txt") addresses"
echo "cores: $(nproc)"

# Agreement (binutils' discriminator suffixes removed).
addr2line -a -f -i -C -e "$BIN" < "$work/addrs.txt" | sed 's/ (discriminator [0-9]*)//' > "$work/binutils.txt"
"$BIN" "$BIN" -a < "$work/addrs.txt" > "$work/profdiff.txt"
python3 - "$work/binutils.txt" "$work/profdiff.txt" <<'PY'
import sys
def blocks(p):
    out, cur = [], None
    for l in open(p).read().splitlines():
        if l.startswith("0x"):
            cur = []; out.append(cur)
        else:
            cur.append(l)
    return out
a, b = blocks(sys.argv[1]), blocks(sys.argv[2])
same = sum(x == y for x, y in zip(a, b))
names = sum([l for i, l in enumerate(x) if i % 2 == 0] == [l for i, l in enumerate(y) if i % 2 == 0] for x, y in zip(a, b))
print(f"agreement with binutils: {same}/{len(a)} addresses identical (all frames, names and file:line), {names}/{len(a)} identical function chains")
PY

hyperfine --warmup 1 --runs 5 --export-markdown "$work/h.md" \
  -n "binutils addr2line -f -i -C" "addr2line -f -i -C -e $BIN < $work/addrs.txt > /dev/null" \
  -n "profdiff symbolizer (rayon, $(nproc) threads)" "$BIN $BIN < $work/addrs.txt > /dev/null" \
  -n "profdiff symbolizer (1 thread)" "RAYON_NUM_THREADS=1 $BIN $BIN < $work/addrs.txt > /dev/null"
cat "$work/h.md"
