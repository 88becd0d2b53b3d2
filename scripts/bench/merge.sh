#!/usr/bin/env bash
# `profdiff merge` of 100 profiles, scaling with cores: -j 1 vs -j 2 (this machine has 2).
# Two input sets:
# - folded: 100 distinct folded profiles derived from the large pprof fixture (each one's
#   counts scaled and one extra frame varied, so every input is real work to parse and intern);
# - pprof: 100 copies of the large pprof fixture itself (1.2 MB gzipped, 20,362 stacks with
#   addresses, mappings and inlined lines): every one is decompressed, decoded and merged.
# For each set: hyperfine (-j 1 and -j 2 side by side, wall and CPU), then ROUNDS alternating
# -j 1 / -j 2 pairs timed with /usr/bin/time, whose median ratios are steadier than separate
# means on a shared machine, and peak RSS.
# Run from scripts/bench.sh (sets ROOT, OUT, PROFDIFF, FIXTURES).
set -euo pipefail
: "${ROOT:?run via scripts/bench.sh}"
W=$OUT/merge
mkdir -p "$W/in" "$W/pprof"
SRC=$FIXTURES/pprof/large.cpu.pb.gz
if [ ! -s "$W/in/p100.folded" ] || [ "$(wc -l < "$W/in/p1.folded")" != 2000 ]; then
  # The first 2000 stacks (~0.9 MB) of the fixture: 100 inputs of ~1 MB each.
  "$PROFDIFF" convert "$SRC" --to folded -o - | head -n 2000 > "$W/base.folded"
  for i in $(seq 1 100); do
    awk -v k="$i" '{ n = $NF; $NF = ""; sub(/ $/, ""); printf "%s;run%d %.0f\n", $0, k % 7, n / 10000000 * k }' "$W/base.folded" > "$W/in/p$i.folded"
  done
fi
for i in $(seq 1 100); do
  cmp -s "$SRC" "$W/pprof/p$i.pb.gz" || cp "$SRC" "$W/pprof/p$i.pb.gz"
done

# Alternating -j 1 / -j 2 runs: median wall and CPU (user+sys) of each, median ratios.
pairs() {
  local name=$1 glob=$2 out=$3 rounds=${ROUNDS:-10}
  : > "$W/pairs-$name.txt"
  for _ in $(seq 1 "$rounds"); do
    for j in 1 2; do
      # shellcheck disable=SC2086
      /usr/bin/time -o "$W/time.txt" -f "%e %U %S %M" "$PROFDIFF" merge -j $j $glob -o "$out" 2>/dev/null
      echo "$j $(cat "$W/time.txt")" >> "$W/pairs-$name.txt"
    done
  done
  awk -v name="$name" '
    function median(a, n,   i, j, t) {
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $1 == 1 { n1++; w1[n1] = $2; c1[n1] = $3 + $4; r1[n1] = $5 }
    $1 == 2 { n2++; w2[n2] = $2; c2[n2] = $3 + $4; r2[n2] = $5; wr[n2] = w1[n2] / $2; cr[n2] = ($3 + $4) / c1[n2] }
    END {
      printf "%s, %d alternating pairs (median): -j 1 wall %.3f s CPU %.3f s | -j 2 wall %.3f s CPU %.3f s | wall speedup %.2fx, CPU -j2/-j1 %.2f | peak RSS %d KB vs %d KB\n",
        name, n2, median(w1, n1), median(c1, n1), median(w2, n2), median(c2, n2), median(wr, n2), median(cr, n2), median(r1, n1), median(r2, n2)
    }' "$W/pairs-$name.txt"
}

echo "folded inputs: 100 files, $(cat "$W"/in/*.folded | wc -l) lines, $(du -ch "$W"/in/*.folded | tail -1 | cut -f1)"
hyperfine -w 1 -r "${RUNS:-10}" --export-markdown "$OUT/merge.md" --export-json "$OUT/merge.json" \
  -n "merge -j 1 (folded)" "$PROFDIFF merge -j 1 $W/in/*.folded -o $W/out.folded" \
  -n "merge -j 2 (folded)" "$PROFDIFF merge -j 2 $W/in/*.folded -o $W/out.folded"
pairs folded "$W/in/*.folded" "$W/out.folded"

echo "pprof inputs: 100 files, $(du -ch "$W"/pprof/*.pb.gz | tail -1 | cut -f1) gzipped"
hyperfine -w 1 -r "${RUNS:-10}" --export-markdown "$OUT/merge-pprof.md" --export-json "$OUT/merge-pprof.json" \
  -n "merge -j 1 (pprof)" "$PROFDIFF merge -j 1 $W/pprof/*.pb.gz -o $W/out.pb.gz" \
  -n "merge -j 2 (pprof)" "$PROFDIFF merge -j 2 $W/pprof/*.pb.gz -o $W/out.pb.gz"
pairs pprof "$W/pprof/*.pb.gz" "$W/out.pb.gz"
