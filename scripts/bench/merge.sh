#!/usr/bin/env bash
# `profdiff merge` of 100 profiles, scaling with cores: -j 1 vs -j 2 (this machine has 2).
# Inputs: 100 distinct folded profiles derived from a perf-script fixture (each one's counts
# scaled differently, so every input is real work to parse and intern).
# Run from scripts/bench.sh (sets ROOT, OUT, PROFDIFF, FIXTURES).
set -euo pipefail
: "${ROOT:?run via scripts/bench.sh}"
W=$OUT/merge
mkdir -p "$W/in"
SRC=$FIXTURES/perf-script/flamegraph-pl/example-perf-stacks.txt.gz
if [ ! -s "$W/in/p100.folded" ]; then
  "$PROFDIFF" convert "$SRC" --to folded -o "$W/base.folded"
  for i in $(seq 1 100); do
    awk -v k="$i" '{ n = $NF; $NF = ""; sub(/ $/, ""); print $0 ";run" (k % 7) " " n * k }' "$W/base.folded" > "$W/in/p$i.folded"
  done
fi
echo "inputs: 100 files, $(cat "$W"/in/*.folded | wc -l) lines, $(du -ch "$W"/in/*.folded | tail -1 | cut -f1)"
hyperfine -w 1 -r "${RUNS:-5}" --export-markdown "$OUT/merge.md" \
  -n "merge -j 1" "$PROFDIFF merge -j 1 $W/in/*.folded -o $W/out.folded" \
  -n "merge -j 2" "$PROFDIFF merge -j 2 $W/in/*.folded -o $W/out.folded"
for j in 1 2; do
  r=$( { /usr/bin/time -v "$PROFDIFF" merge -j $j "$W"/in/*.folded -o "$W/out.folded" 2>/dev/null; } 2>&1 | awk '/Maximum resident/ {print $6}')
  echo "peak RSS merge -j $j: ${r} KB"
done
