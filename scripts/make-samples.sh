#!/usr/bin/env bash
# Regenerate samples/: profiles of the bundled workload (samples/workload/main.rs), recorded by
# profdiff itself. "base" is the workload as is; "slow" is built with `--cfg slow`, where only
# `checksum_block` does more work. Five runs per side (the fewest for which the Mann-Whitney test can reach p < 0.05 is 4), so `compare` can test significance.
#
#   scripts/make-samples.sh
#
# Needs: rustc, a working perf_event_open (Linux), and a release build of profdiff.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags=(-O -g -C force-frame-pointers=yes --edition 2021)
rustc "${flags[@]}" -o "$tmp/workload" samples/workload/main.rs
rustc "${flags[@]}" --cfg slow -o "$tmp/workload-slow" samples/workload/main.rs
for i in 1 2 3 4 5; do
  target/release/profdiff record -F 999 -o "samples/base-$i.pb.gz" -- "$tmp/workload" >/dev/null
  target/release/profdiff record -F 999 -o "samples/slow-$i.pb.gz" -- "$tmp/workload-slow" >/dev/null
done
ls -l samples/*.pb.gz
