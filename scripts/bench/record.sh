#!/usr/bin/env bash
# Benchmarks of `profdiff record` (issue 4), side by side with perf in one run:
#  1. overhead: wall time of the two-thread C workload under `profdiff record -F 999` (fp, dwarf)
#     and `perf record -F 999 -g` / `--call-graph dwarf`, divided by the unprofiled time;
#  2. exit-to-output: time from the workload's exit to a symbolized profile + SVG on disk, for a
#     ~10 s recording, vs perf record's own finish + perf script | inferno-collapse-perf |
#     inferno-flamegraph.
# Usage: scripts/bench/record.sh [OUT.md]   (needs: hyperfine, perf, gcc, inferno, release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-/dev/stdout}
PD=$PWD/target/release/profdiff
[ -x "$PD" ] || cargo build --release
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
gcc -O2 -g -pthread -fno-omit-frame-pointer tests/workloads/threads.c -o "$W/threads"
UNITS=${UNITS:-150}     # overhead run: ~2-3 s of wall time on this 2-core machine
LONG_UNITS=${LONG_UNITS:-700}  # exit-to-output run: ~10 s
EXT=pb.gz
"$PD" record --call-graph fp -o "$W/probe.pb.gz" -- true 2>/dev/null || EXT=folded

{
echo "# profdiff record benchmarks"
echo
echo "Machine: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ). Output format: .$EXT"
echo
echo "## Overhead (hyperfine, workload: tests/workloads/threads.c $UNITS, built -O2 -fno-omit-frame-pointer)"
echo
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-markdown "$W/over.md" \
  -n unprofiled "$W/threads $UNITS" \
  -n "profdiff fp" "$PD record -F 999 --call-graph fp -o $W/a.$EXT -- $W/threads $UNITS" \
  -n "profdiff dwarf" "$PD record -F 999 --call-graph dwarf -o $W/b.$EXT -- $W/threads $UNITS" \
  -n "perf -g" "perf record -q -F 999 -g -o $W/fp.data -- $W/threads $UNITS" \
  -n "perf dwarf" "perf record -q -F 999 --call-graph dwarf -o $W/dw.data -- $W/threads $UNITS" \
  >/dev/null 2>&1
cat "$W/over.md"
echo
echo "Ratios (mean / unprofiled mean):"
awk -F'|' 'NR>2 { gsub(/`/,"",$2); gsub(/^ +| +$/,"",$2); split($3,m," "); t[NR]=m[1]; n[NR]=$2 }
  END { base=t[3]; for (i=3;i<=NR;i++) printf "- %s: %.3fx\n", n[i], t[i]/base }' "$W/over.md"
echo
echo "## Target exit -> symbolized profile + SVG on disk (workload $LONG_UNITS, ~10 s, 3 runs each)"
echo
now() { date +%s.%N; }
for i in 1 2 3; do
  "$PD" record -F 999 --call-graph fp -o "$W/l.$EXT" --svg "$W/l.svg" -- \
    sh -c "$W/threads $LONG_UNITS; date +%s.%N > $W/exit" 2>/dev/null
  end=$(now); echo "profdiff fp: $(echo "$end - $(cat "$W/exit")" | bc) s"
  "$PD" record -F 999 --call-graph dwarf -o "$W/l.$EXT" --svg "$W/l.svg" -- \
    sh -c "$W/threads $LONG_UNITS; date +%s.%N > $W/exit" 2>/dev/null
  end=$(now); echo "profdiff dwarf: $(echo "$end - $(cat "$W/exit")" | bc) s"
  perf record -q -F 999 -g -o "$W/l.data" -- \
    sh -c "$W/threads $LONG_UNITS; date +%s.%N > $W/exit" 2>/dev/null
  perf script -i "$W/l.data" 2>/dev/null | inferno-collapse-perf | inferno-flamegraph > "$W/p.svg"
  end=$(now); echo "perf -g + perf script + inferno: $(echo "$end - $(cat "$W/exit")" | bc) s"
  perf record -q -F 999 --call-graph dwarf -o "$W/l.data" -- \
    sh -c "$W/threads $LONG_UNITS; date +%s.%N > $W/exit" 2>/dev/null
  perf script -i "$W/l.data" 2>/dev/null | inferno-collapse-perf | inferno-flamegraph > "$W/p.svg"
  end=$(now); echo "perf dwarf + perf script + inferno: $(echo "$end - $(cat "$W/exit")" | bc) s"
done
} > "$OUT"
