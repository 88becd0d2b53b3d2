#!/usr/bin/env bash
# Build the Go sample workload (samples/go/main.go) and record N CPU profiles per side with
# runtime/pprof: base-{1..N}.pb.gz (as is) and slow-{1..N}.pb.gz (-slow: only checksumBlock
# does more work). Identical-code pairs come from comparing base runs with each other.
#
#   scripts/make-go-samples.sh OUTDIR [N=3] [DURATION=1.5s]
set -euo pipefail
out=${1:?usage: make-go-samples.sh OUTDIR [N] [DURATION]}
n=${2:-3}
dur=${3:-1.5s}
here="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
bin="$out/goworkload"
(cd "$here/samples/go" && GOFLAGS=-mod=mod GO111MODULE=off go build -o "$bin" main.go)
for i in $(seq 1 "$n"); do
  "$bin" -d "$dur" -o "$out/base-$i.pb.gz"
  "$bin" -d "$dur" -slow -o "$out/slow-$i.pb.gz"
done
rm -f "$bin"
ls "$out"
