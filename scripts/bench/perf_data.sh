#!/usr/bin/env bash
# perf.data → flamegraph: `profdiff flamegraph perf.data -o x.svg` vs the standard pipeline
# `perf script | inferno-collapse-perf | inferno-flamegraph`, on the same recordings, in one
# hyperfine run; then peak RSS of both (/usr/bin/time -v).
#
# Workload: profdiff's own release binary (Rust, multi-threaded with rayon, line-table debug
# info, many distinct hot addresses) merging 60 copies of the large pprof fixture with -j 2.
# - dwarf: that binary as built (no frame pointers), `perf record --call-graph dwarf`, run long
#   enough for >= 20k samples (~150+ MB);
# - fp: the same program built with frame pointers (target/bench-fp), `perf record -g`.
# `--no-inline` is profdiff with symbol tables only, the same work `perf script` does (it
# prints no inline frames and no file:line); the default also reads DWARF for both.
# Run from scripts/bench.sh (sets ROOT, OUT, PROFDIFF, FIXTURES).
set -euo pipefail
: "${ROOT:?run via scripts/bench.sh}"
W=$OUT/perf_data
mkdir -p "$W/in"
SRC=$FIXTURES/pprof/large.cpu.pb.gz
for i in $(seq 1 60); do ln -sf "$SRC" "$W/in/p$i.pb.gz"; done
INPUTS=("$W"/in/*.pb.gz)

# Frame-pointer build of the same program (cached across runs; BENCH_FP_BUILD=0 skips the
# extra release build and records the regular binary with -g, whose stacks are then shallow).
FP_BIN=$PROFDIFF
if [ "${BENCH_FP_BUILD:-1}" = 1 ]; then
  if [ ! -x "$ROOT/target/bench-fp/release/profdiff" ]; then
    RUSTFLAGS="-C force-frame-pointers=yes" cargo build --release --quiet --target-dir "$ROOT/target/bench-fp"
  fi
  FP_BIN=$ROOT/target/bench-fp/release/profdiff
fi
echo "fp workload binary: $FP_BIN"

record() { # mode out bin rounds
  local mode=$1 out=$2 bin=$3 rounds=$4
  rm -f "$out"
  local args=(-g); [ "$mode" = dwarf ] && args=(--call-graph dwarf)
  perf record -q -F 999 "${args[@]}" -o "$out" -- bash -c "for r in \$(seq 1 $rounds); do '$bin' merge -j 2 ${INPUTS[*]} -o '$W/merged.pb.gz' 2>/dev/null; done"
}
[ -s "$W/fp.data" ] || record fp "$W/fp.data" "$FP_BIN" "${ROUNDS_FP:-4}"
[ -s "$W/dwarf.data" ] || record dwarf "$W/dwarf.data" "$PROFDIFF" "${ROUNDS_DWARF:-7}"
for m in fp dwarf; do
  n=$(perf script -i "$W/$m.data" -F tid 2>/dev/null | wc -l)
  echo "$m.data: $(du -m "$W/$m.data" | cut -f1) MB, $n samples"
done

for m in fp dwarf; do
  hyperfine -w 1 -r "${RUNS:-5}" --export-markdown "$OUT/perf_data_$m.md" \
    -n "profdiff flamegraph ($m)" "$PROFDIFF flamegraph $W/$m.data -o $W/$m-profdiff.svg" \
    -n "profdiff flamegraph --no-inline ($m)" "$PROFDIFF flamegraph --no-inline $W/$m.data -o $W/$m-profdiff-ni.svg" \
    -n "perf script | inferno ($m)" "perf script -i $W/$m.data 2>/dev/null | inferno-collapse-perf | inferno-flamegraph > $W/$m-inferno.svg"
done

rss() { # command... → peak RSS in KB (the command's own stdout/stderr discarded)
  /usr/bin/time -o "$W/time.txt" -v "$@" >/dev/null 2>&1 || true
  awk '/Maximum resident/ {print $6}' "$W/time.txt"
}
for m in fp dwarf; do
  a=$(rss "$PROFDIFF" flamegraph "$W/$m.data" -o "$W/$m-profdiff.svg")
  perf script -i "$W/$m.data" > "$W/$m.script" 2>/dev/null
  inferno-collapse-perf "$W/$m.script" > "$W/$m.collapsed"
  b=$(rss perf script -i "$W/$m.data")
  c=$(rss inferno-collapse-perf "$W/$m.script")
  d=$(rss inferno-flamegraph "$W/$m.collapsed")
  echo "peak RSS ($m): profdiff ${a} KB; perf script ${b} KB, inferno-collapse-perf ${c} KB, inferno-flamegraph ${d} KB"
done
