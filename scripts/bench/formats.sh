#!/usr/bin/env bash
# Text readers and the flamegraph renderer vs inferno, side by side in one hyperfine run each:
#  1. `profdiff convert --to folded` vs `inferno-collapse-perf` on FlameGraph's
#     example-perf-stacks (decompressed, 3 MB) and on a 100x concatenation (314 MB);
#  2. `profdiff flamegraph` vs `inferno-flamegraph` on the same folded input;
#  3. peak RSS (/usr/bin/time -v) of both collapsers on 1x vs 100x: memory must follow unique
#     stacks, not samples.
# Run through scripts/bench.sh (builds --release) or directly with PROFDIFF/FIXTURES/OUT set.
set -euo pipefail
: "${PROFDIFF:=$(cd "$(dirname "$0")/../.." && pwd)/target/release/profdiff}"
: "${FIXTURES:=$(cd "$(dirname "$0")/../.." && pwd)/../shared/fixtures}"
: "${OUT:=$(cd "$(dirname "$0")/../.." && pwd)/bench-out}"
mkdir -p "$OUT"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
zcat "$FIXTURES/perf-script/flamegraph-pl/example-perf-stacks.txt.gz" > "$W/ex.txt"
for _ in $(seq 100); do cat "$W/ex.txt"; done > "$W/ex100.txt"
inferno-collapse-perf "$W/ex.txt" > "$W/ex.folded"
echo "inputs: $(wc -c < "$W/ex.txt") and $(wc -c < "$W/ex100.txt") bytes; $(wc -l < "$W/ex.folded") unique stacks"

hyperfine -N --warmup 2 --runs 15 --export-markdown "$OUT/formats-collapse-1x.md" \
  -n "profdiff convert --to folded (1x)" "$PROFDIFF convert $W/ex.txt --to folded -o -" \
  -n "inferno-collapse-perf (1x)" "inferno-collapse-perf $W/ex.txt"

hyperfine -N --warmup 1 --runs 5 --export-markdown "$OUT/formats-collapse-100x.md" \
  -n "profdiff convert --to folded (100x)" "$PROFDIFF convert $W/ex100.txt --to folded -o -" \
  -n "inferno-collapse-perf (100x)" "inferno-collapse-perf $W/ex100.txt"

hyperfine -N --warmup 3 --runs 40 --export-markdown "$OUT/formats-flamegraph.md" \
  -n "profdiff flamegraph (folded in)" "$PROFDIFF flamegraph $W/ex.folded -o -" \
  -n "inferno-flamegraph" "inferno-flamegraph $W/ex.folded"

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}'; }
{
  echo "| command | 1x max RSS (KB) | 100x max RSS (KB) |"
  echo "|---|---|---|"
  echo "| profdiff convert --to folded | $(rss "$PROFDIFF" convert "$W/ex.txt" --to folded -o -) | $(rss "$PROFDIFF" convert "$W/ex100.txt" --to folded -o -) |"
  echo "| inferno-collapse-perf | $(rss inferno-collapse-perf "$W/ex.txt") | $(rss inferno-collapse-perf "$W/ex100.txt") |"
} | tee "$OUT/formats-rss.md"
# The folded outputs must agree (100x = 100 times each count).
diff <("$PROFDIFF" convert "$W/ex.txt" --to folded -o - | sort) <(sort "$W/ex.folded") >/dev/null \
  && echo "folded output identical to inferno-collapse-perf's"
