#!/usr/bin/env bash
# compare: two pprof profiles of 1M samples / 100k unique stacks each (examples/gen_profile.rs,
# different "builds": function hashes and addresses differ; NEW has one function slowed), vs
# `go tool pprof -top -diff_base` on the same files. Also peak RSS of profdiff.
# Multi-run: 5 OLD vs 5 NEW profiles (200k samples / 20k unique stacks each; profdiff reads the
# ten in parallel) vs `go tool pprof -top -diff_base=o1 … -diff_base=o5 n1 … n5`.
set -euo pipefail
cd "$ROOT"
d=$OUT/compare-data
mkdir -p "$d"
cargo build --release --quiet --example gen_profile
gen=target/release/examples/gen_profile
[ -f "$d/old.pb.gz" ] || $gen --stacks 109000 --samples 1000000 --seed 1 --build 1 -o "$d/old.pb.gz"
[ -f "$d/new.pb.gz" ] || $gen --stacks 109000 --samples 1000000 --seed 2 --build 2 --slow f4242:3 -o "$d/new.pb.gz"
hyperfine --warmup 1 --runs 3 --export-markdown "$OUT/compare.md" \
  -n profdiff "$PROFDIFF compare $d/old.pb.gz $d/new.pb.gz --format json -o /dev/null" \
  -n "go tool pprof -top -diff_base" "go tool pprof -top -diff_base=$d/old.pb.gz $d/new.pb.gz >/dev/null 2>&1"
/usr/bin/time -f "profdiff compare peak RSS: %M KB, %e s" \
  "$PROFDIFF" compare "$d/old.pb.gz" "$d/new.pb.gz" --format json -o /dev/null
/usr/bin/time -f "go tool pprof -top -diff_base peak RSS: %M KB, %e s" \
  go tool pprof -top -diff_base="$d/old.pb.gz" "$d/new.pb.gz" >/dev/null 2>/dev/null || true
"$PROFDIFF" compare "$d/old.pb.gz" "$d/new.pb.gz" -n 3 | head -12

# Multi-run: 5 vs 5.
olds=(); news=(); bases=()
for i in 1 2 3 4 5; do
  [ -f "$d/o$i.pb.gz" ] || $gen --stacks 22000 --samples 200000 --seed $((10 + i)) --build 1 -o "$d/o$i.pb.gz"
  [ -f "$d/n$i.pb.gz" ] || $gen --stacks 22000 --samples 200000 --seed $((20 + i)) --build 2 --slow f4242:3 -o "$d/n$i.pb.gz"
  olds+=("$d/o$i.pb.gz"); news+=("$d/n$i.pb.gz"); bases+=("-diff_base=$d/o$i.pb.gz")
done
hyperfine --warmup 1 --runs 3 --export-markdown "$OUT/compare-5v5.md" \
  -n "profdiff 5v5" "$PROFDIFF compare --format json -o /dev/null ${olds[*]} -- ${news[*]}" \
  -n "go tool pprof -top -diff_base 5v5" "go tool pprof -top ${bases[*]} ${news[*]} >/dev/null 2>&1"
/usr/bin/time -f "profdiff compare 5v5 peak RSS: %M KB, %e s" \
  "$PROFDIFF" compare --format json -o /dev/null "${olds[@]}" -- "${news[@]}"
