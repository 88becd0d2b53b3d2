#!/usr/bin/env bash
# Benchmarks, side by side with the tools profdiff replaces (hyperfine), in one run.
#
#   scripts/bench.sh                # every section
#   scripts/bench.sh formats top    # only these sections (scripts/bench/<name>.sh)
#
# Needs: hyperfine, inferno (cargo install inferno), go (golang-go), perf. Results are
# written to bench-out/ (markdown tables from hyperfine) and summarized in BENCHMARKS.md by hand.
# This machine is shared and noisy: read the ratios, not the absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export ROOT
export FIXTURES=${PROFDIFF_FIXTURES:-$ROOT/../shared/fixtures}
export OUT=$ROOT/bench-out
export PROFDIFF=$ROOT/target/release/profdiff
mkdir -p "$OUT"

for tool in hyperfine inferno-collapse-perf inferno-flamegraph go perf; do
  command -v "$tool" >/dev/null || echo "warning: $tool not found; sections needing it will fail" >&2
done
cargo build --release --quiet

sections=("$@")
if [ ${#sections[@]} -eq 0 ]; then
  for f in scripts/bench/*.sh; do sections+=("$(basename "$f" .sh)"); done
fi
for s in "${sections[@]}"; do
  echo "=== $s"
  bash "scripts/bench/$s.sh"
done
