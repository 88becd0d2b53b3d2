#!/usr/bin/env bash
# `profdiff top` vs `go tool pprof -top` on google/pprof's large.cpu fixture (1.2 MB gzipped,
# ~23k functions), side by side in one hyperfine run, same options on both sides
# (-nodecount=20, default nodefraction; go with -symbolize=none so it does not look for the
# profiled binaries). The pprof binary is also timed directly (without the `go` launcher) so
# the launcher's start-up cost is visible. Then peak RSS of each (/usr/bin/time -v).
# Run through scripts/bench.sh (builds --release) or directly with PROFDIFF/FIXTURES/OUT set.
set -euo pipefail
: "${PROFDIFF:=$(cd "$(dirname "$0")/../.." && pwd)/target/release/profdiff}"
: "${FIXTURES:=$(cd "$(dirname "$0")/../.." && pwd)/../shared/fixtures}"
: "${OUT:=$(cd "$(dirname "$0")/../.." && pwd)/bench-out}"
mkdir -p "$OUT"
IN="$FIXTURES/pprof/large.cpu.pb.gz"
PPROF="$(go env GOTOOLDIR)/pprof"
export HOME=${HOME:-/tmp}

# Same numbers first (the conformance test checks this row by row; here just a sanity diff).
diff <("$PROFDIFF" top -n 20 "$IN" | sed -n '/flat%/,$p' | awk '{print $1,$2,$3,$4,$5,$6}') \
     <(go tool pprof -symbolize=none -top -nodecount=20 "$IN" 2>/dev/null | sed -n '/flat%/,$p' | awk '{print $1,$2,$3,$4,$5,$6}') \
  && echo "profdiff top and go tool pprof -top print the same table"

hyperfine -N --warmup 2 --runs 15 --export-markdown "$OUT/top-large.md" \
  -n "profdiff top -n 20" "$PROFDIFF top -n 20 $IN" \
  -n "go tool pprof -top -nodecount=20" "go tool pprof -symbolize=none -top -nodecount=20 $IN" \
  -n "pprof (GOTOOLDIR) -top -nodecount=20" "$PPROF -symbolize=none -top -nodecount=20 $IN"

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}'; }
{
  echo "| command | max RSS (KB) |"
  echo "|---|---|"
  echo "| profdiff top -n 20 | $(rss "$PROFDIFF" top -n 20 "$IN") |"
  echo "| go tool pprof -top -nodecount=20 | $(rss go tool pprof -symbolize=none -top -nodecount=20 "$IN") |"
  echo "| pprof (GOTOOLDIR) -top -nodecount=20 | $(rss "$PPROF" -symbolize=none -top -nodecount=20 "$IN") |"
} | tee "$OUT/top-rss.md"
