#!/usr/bin/env bash
# perf.data → flamegraph: `profdiff flamegraph perf.data -o x.svg` vs the standard pipeline
# `perf script | inferno-collapse-perf | inferno-flamegraph`, on the same recordings, in one
# hyperfine run; then peak RSS of both (/usr/bin/time -v).
#
# Workload: profdiff's own release binary (Rust, multi-threaded with rayon, line-table debug
# info, many distinct hot addresses) merging 60 copies of a perf-script fixture with -j 2.
# - dwarf: that binary as built (no frame pointers), `perf record --call-graph dwarf`, run long
#   enough for >= 20k samples (~150+ MB);
# - fp: the same program built with frame pointers (target/bench-fp), `perf record -g`.
# Run from scripts/bench.sh (sets ROOT, OUT, PROFDIFF, FIXTURES).
set -euo pipefail
: "${ROOT:?run via scripts/bench.sh}"
W=$OUT/perf_data
mkdir -p "$W/in"
SRC=$FIXTURES/perf-script/flamegraph-pl/example-perf-stacks.txt.gz
for i in $(seq 1 60); do ln -sf "$SRC" "$W/in/s$i.txt.gz"; done
INPUTS=("$W"/in/*.txt.gz)

# Frame-pointer build of the same program (cached across runs).
if [ ! -x "$ROOT/target/bench-fp/release/profdiff" ]; then
  RUSTFLAGS="-C force-frame-pointers=yes" cargo build --release --quiet --target-dir "$ROOT/target/bench-fp"
fi
FP_BIN=$ROOT/target/bench-fp/release/profdiff

record() { # mode out bin rounds
  local mode=$1 out=$2 bin=$3 rounds=$4
  rm -f "$out"
  local args=(-g); [ "$mode" = dwarf ] && args=(--call-graph dwarf)
  perf record -q -F 999 "${args[@]}" -o "$out" -- bash -c "for r in \$(seq 1 $rounds); do '$bin' merge -j 2 ${INPUTS[*]} -o '$W/merged.folded' 2>/dev/null; done"
}
[ -s "$W/fp.data" ] || record fp "$W/fp.data" "$FP_BIN" "${ROUNDS_FP:-12}"
[ -s "$W/dwarf.data" ] || record dwarf "$W/dwarf.data" "$PROFDIFF" "${ROUNDS_DWARF:-12}"
for m in fp dwarf; do
  n=$(perf script -i "$W/$m.data" -F tid 2>/dev/null | wc -l)
  echo "$m.data: $(du -m "$W/$m.data" | cut -f1) MB, $n samples"
done

for m in fp dwarf; do
  hyperfine -w 1 -r "${RUNS:-5}" --export-markdown "$OUT/perf_data_$m.md" \
    -n "profdiff flamegraph ($m)" "$PROFDIFF flamegraph $W/$m.data -o $W/$m-profdiff.svg" \
    -n "perf script | inferno ($m)" "perf script -i $W/$m.data 2>/dev/null | inferno-collapse-perf | inferno-flamegraph > $W/$m-inferno.svg"
done

for m in fp dwarf; do
  a=$( { /usr/bin/time -v "$PROFDIFF" flamegraph "$W/$m.data" -o "$W/$m-profdiff.svg" >/dev/null; } 2>&1 | awk '/Maximum resident/ {print $6}')
  b=$( { /usr/bin/time -v perf script -i "$W/$m.data" 2>/dev/null >"$W/$m.script"; } 2>&1 | awk '/Maximum resident/ {print $6}')
  c=$( { /usr/bin/time -v inferno-collapse-perf "$W/$m.script" >"$W/$m.collapsed"; } 2>&1 | awk '/Maximum resident/ {print $6}')
  d=$( { /usr/bin/time -v inferno-flamegraph "$W/$m.collapsed" >/dev/null; } 2>&1 | awk '/Maximum resident/ {print $6}')
  echo "peak RSS ($m): profdiff ${a} KB; perf script ${b} KB, inferno-collapse-perf ${c} KB, inferno-flamegraph ${d} KB"
done
