#!/usr/bin/env bash
# `profdiff merge` of 100 profiles, scaling with cores: -j 1 vs -j 2 (this machine has 2).
# Inputs: 100 distinct folded profiles derived from the large pprof fixture (each one's counts
# scaled and one extra frame varied, so every input is real work to parse and intern).
# Run from scripts/bench.sh (sets ROOT, OUT, PROFDIFF, FIXTURES).
set -euo pipefail
: "${ROOT:?run via scripts/bench.sh}"
W=$OUT/merge
mkdir -p "$W/in"
SRC=$FIXTURES/pprof/large.cpu.pb.gz
if [ ! -s "$W/in/p100.folded" ] || [ "$(wc -l < "$W/in/p1.folded")" != 2000 ]; then
  # The first 2000 stacks (~0.9 MB) of the fixture: 100 inputs of ~1 MB each.
  "$PROFDIFF" convert "$SRC" --to folded -o - | head -n 2000 > "$W/base.folded"
  for i in $(seq 1 100); do
    awk -v k="$i" '{ n = $NF; $NF = ""; sub(/ $/, ""); printf "%s;run%d %.0f\n", $0, k % 7, n / 10000000 * k }' "$W/base.folded" > "$W/in/p$i.folded"
  done
fi
echo "inputs: 100 files, $(cat "$W"/in/*.folded | wc -l) lines, $(du -ch "$W"/in/*.folded | tail -1 | cut -f1)"
hyperfine -w 1 -r "${RUNS:-5}" --export-markdown "$OUT/merge.md" \
  -n "merge -j 1" "$PROFDIFF merge -j 1 $W/in/*.folded -o $W/out.folded" \
  -n "merge -j 2" "$PROFDIFF merge -j 2 $W/in/*.folded -o $W/out.folded"
for j in 1 2; do
  /usr/bin/time -o "$W/time.txt" -v "$PROFDIFF" merge -j $j "$W"/in/*.folded -o "$W/out.folded" 2>/dev/null
  echo "peak RSS merge -j $j: $(awk '/Maximum resident/ {print $6}' "$W/time.txt") KB"
done
