#!/usr/bin/env bash
# compare: two pprof profiles of 1M samples / 100k unique stacks each (examples/gen_profile.rs,
# different "builds": function hashes and addresses differ; NEW has one function slowed), vs
# `go tool pprof -top -diff_base` on the same files. Also peak RSS of profdiff.
set -euo pipefail
cd "$ROOT"
d=$OUT/compare-data
mkdir -p "$d"
cargo build --release --quiet --example gen_profile
gen=target/release/examples/gen_profile
[ -f "$d/old.pb.gz" ] || $gen --stacks 100000 --samples 1000000 --seed 1 --build 1 -o "$d/old.pb.gz"
[ -f "$d/new.pb.gz" ] || $gen --stacks 100000 --samples 1000000 --seed 2 --build 2 --slow f4242:3 -o "$d/new.pb.gz"
hyperfine --warmup 1 --runs 5 --export-markdown "$OUT/compare.md" \
  -n profdiff "$PROFDIFF compare $d/old.pb.gz $d/new.pb.gz --format json -o /dev/null" \
  -n "go tool pprof -top -diff_base" "go tool pprof -top -diff_base=$d/old.pb.gz $d/new.pb.gz >/dev/null 2>&1"
/usr/bin/time -f "profdiff compare peak RSS: %M KB, %e s" \
  "$PROFDIFF" compare "$d/old.pb.gz" "$d/new.pb.gz" --format json -o /dev/null
/usr/bin/time -f "go tool pprof -top -diff_base peak RSS: %M KB, %e s" \
  go tool pprof -top -diff_base="$d/old.pb.gz" "$d/new.pb.gz" >/dev/null 2>/dev/null || true
"$PROFDIFF" compare "$d/old.pb.gz" "$d/new.pb.gz" -n 3 | head -12
