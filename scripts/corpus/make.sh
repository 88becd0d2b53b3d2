#!/usr/bin/env bash
# Build a corpus of real profiles for judging `profdiff compare`: many runs of identical code
# (noise), runs where exactly one function does ~2x its work (an injected regression) and runs
# where one function got faster and nothing else changed (a pure speed-up).
#
#   scripts/corpus/make.sh OUT_DIR [FORMAT...]
#
# FORMATs (default: all): perf-fp perf-dwarf perf-script pprof-go pprof-go-heap pyspy-speedscope
# pyspy-raw v8 profdiff-fp profdiff-dwarf. perf-script is `perf script` of the perf-fp
# recordings (made after them). pprof-go-heap (Go's allocs profile: bytes and objects, not
# time) has base runs only: its variants change CPU work, not allocations. Layout: OUT_DIR/<format>/<workload>/<variant>/run-NN.<ext>, with
# run-NN.meta beside each profile (date, load average, wall seconds, command). Existing
# profiles are kept, so an interrupted run resumes. Runs of the three variants are interleaved
# (base, regress, speedup, base, ...) so machine drift hits all of them.
#
# Environment: RUNS_BASE (default 12), RUNS_VARIANT (default 6), PROFDIFF (binary used for the
# profdiff-* formats; default target/release/profdiff of this checkout).
# Needs: perf (perf_event_open allowed for your processes), gcc, rustc, go, python3 + py-spy,
# node.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:?usage: make.sh OUT_DIR [FORMAT...]}
shift
formats=("$@")
[ ${#formats[@]} -gt 0 ] || formats=(perf-fp perf-dwarf pprof-go pyspy-speedscope pyspy-raw v8 profdiff-fp profdiff-dwarf perf-script pprof-go-heap)
runs_base=${RUNS_BASE:-12}
runs_variant=${RUNS_VARIANT:-6}
profdiff=${PROFDIFF:-$root/target/release/profdiff}
variants=(base regress speedup)
wl="$here/workloads"
bin="$out/.build"
python=$(command -v pyenv >/dev/null && pyenv which python3 || command -v python3)
mkdir -p "$out" "$bin"

# Every variant of every compiled workload, with and without frame pointers. Executables carry
# the variant in their name (as old/new builds often do), in a folder per variant.
# An existing build is kept: the perf.data files already recorded are symbolized from it.
build() {
  local v def cfg
  for v in "${variants[@]}"; do
    [ -x "$bin/$v/gowork-$v" ] && continue
    mkdir -p "$bin/$v"
    def=""; cfg=""
    [ "$v" = regress ] && def=-DREGRESS && cfg="--cfg regress"
    [ "$v" = speedup ] && def=-DSPEEDUP && cfg="--cfg speedup"
    for w in cmix ctree; do
      gcc -O2 -g -fno-omit-frame-pointer $def -o "$bin/$v/$w-fp-$v" "$wl/$w.c"
      gcc -O2 -g $def -o "$bin/$v/$w-$v" "$wl/$w.c"
    done
    # shellcheck disable=SC2086
    rustc -O -g -C force-frame-pointers=yes --edition 2021 $cfg -o "$bin/$v/rsiter-fp-$v" "$wl/rsiter.rs"
    # shellcheck disable=SC2086
    rustc -O -g --edition 2021 $cfg -o "$bin/$v/rsiter-$v" "$wl/rsiter.rs"
    (cd "$wl/gowork" && go build -ldflags "-X main.variant=$v" -o "$bin/$v/gowork-$v" .)
  done
  build_go_heap
}

# Heap profiles need -allocprofile, which came after the CPU recordings' build: its own binary.
build_go_heap() {
  [ -x "$bin/base/gowork-heap-base" ] && return 0
  (cd "$wl/gowork" && go build -ldflags "-X main.variant=base" -o "$bin/base/gowork-heap-base" .)
}

# record FORMAT WORKLOAD VARIANT N EXT CMD...: one profile; CMD contains @OUT@ for its path.
record() {
  local format=$1 workload=$2 variant=$3 n=$4 ext=$5
  shift 5
  local dir="$out/$format/$workload/$variant"
  local file
  file="$dir/run-$(printf %02d "$n").$ext"
  [ -s "$file" ] && return 0
  mkdir -p "$dir"
  local cmd=() a
  for a in "$@"; do
    a=${a//@OUT@/$file}
    cmd+=("${a//@N@/$(printf %02d "$n")}")
  done
  local load t0 t1
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  t0=$(date +%s.%N)
  if ! "${cmd[@]}" >"$dir/.last.log" 2>&1; then
    echo "FAILED: ${cmd[*]}" >&2
    tail -5 "$dir/.last.log" >&2
    rm -f "$file"
    return 1
  fi
  t1=$(date +%s.%N)
  # V8 and py-spy choose their own file names inside a folder: move the result into place.
  if [ "$format" = v8 ]; then mv "$file.d"/*.cpuprofile "$file" && rmdir "$file.d"; fi
  if [ "$format" = perf-script ]; then
    # Derived from the perf-fp recording: its run's facts, and how the text was made.
    local nn
    nn=$(printf %02d "$n")
    { cat "$out/perf-fp/$workload/$variant/run-$nn.meta"; echo "derived_by: ${cmd[*]}"; } >"${file%."$ext"}.meta"
    return 0
  fi
  printf 'date: %s\nloadavg_before: %s\nloadavg_after: %s\nwall_seconds: %.3f\ncommand: %s\n' \
    "$(date -u +%FT%TZ)" "$load" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(echo "$t1 - $t0" | bc)" "${cmd[*]}" >"${file%."$ext"}.meta"
}

# The command line that records one run of WORKLOAD/VARIANT in FORMAT.
command_for() {
  local format=$1 w=$2 v=$3
  local perf=(perf record -q -e cpu-clock -F 999 -o @OUT@)
  case "$format/$w" in
    perf-fp/go*) echo "${perf[*]} -g -- $bin/$v/gowork-$v -mode ${w#go}" ;;
    perf-fp/*) echo "${perf[*]} -g -- $bin/$v/$w-fp-$v" ;;
    perf-dwarf/*) echo "${perf[*]} --call-graph dwarf -- $bin/$v/$w-$v" ;;
    profdiff-fp/*) echo "$profdiff record -F 999 --call-graph fp -o @OUT@ -- $bin/$v/$w-fp-$v" ;;
    profdiff-dwarf/*) echo "$profdiff record -F 999 --call-graph dwarf -o @OUT@ -- $bin/$v/$w-$v" ;;
    perf-script/*) echo "$here/perf-script.sh $out/perf-fp/$w/$v/run-@N@.perf.data @OUT@" ;;
    pprof-go-heap/*) echo "$bin/$v/gowork-heap-$v -mode ${w#go} -allocprofile @OUT@" ;;
    pprof-go/*) echo "$bin/$v/gowork-$v -mode ${w#go} -cpuprofile @OUT@" ;;
    pyspy-speedscope/*) echo "py-spy record --format speedscope -o @OUT@ -- $python $wl/pywork.py ${w#py} $v" ;;
    pyspy-raw/*) echo "py-spy record --format raw -o @OUT@ -- $python $wl/pywork.py ${w#py} $v" ;;
    v8/*) echo "node --cpu-prof --cpu-prof-dir=@OUT@.d $wl/nodework.js ${w#node} $v" ;;
  esac
}

workloads_of() {
  case $1 in
    perf-fp) echo cmix ctree rsiter gomix ;;
    perf-dwarf) echo cmix ctree rsiter ;;
    perf-script) echo cmix ctree rsiter gomix ;;
    profdiff-fp | profdiff-dwarf) echo cmix ;;
    pprof-go | pprof-go-heap) echo gomix gotree gotext ;;
    pyspy-speedscope) echo pymix pytree pytext ;;
    pyspy-raw) echo pymix ;;
    v8) echo nodemix nodetree nodetext ;;
    *) echo "unknown format $1" >&2; exit 2 ;;
  esac
}

ext_of() {
  case $1 in
    perf-script) echo perf-script.txt ;;
    perf-*) echo perf.data ;;
    profdiff-* | pprof-go*) echo pb.gz ;;
    pyspy-speedscope) echo speedscope.json ;;
    pyspy-raw) echo txt ;;
    v8) echo cpuprofile ;;
  esac
}

# What each workload's variants change: the function made ~2x slower by `regress` and the one
# made faster by `speedup`, as regular expressions over the function names a profile shows.
write_targets() {
  cat >"$out/targets.tsv" <<'TSV'
workload	regress_function	speedup_function
cmix	^crc_block$	^hash_mix$
ctree	^walk_tree$	^fib$
rsiter	^rsiter::checksum_rows$	^rsiter::sort_records$
gomix	^main\.crcBlock$	^main\.hashMix$
gotree	^main\.walkTree$	^main\.fib$
gotext	^main\.parseFields$	^main\.upperWords$
pymix	^crc_block( \(.*\))?$	^hash_mix( \(.*\))?$
pytree	^walk_tree( \(.*\))?$	^fib( \(.*\))?$
pytext	^parse_fields( \(.*\))?$	^upper_words( \(.*\))?$
nodemix	^crcBlock$	^hashMix$
nodetree	^walkTree$	^fib$
nodetext	^parseFields$	^upperWords$
TSV
}

# README.md of the corpus: what is where and how it was made (the tools' versions included).
write_readme() {
  {
    echo "# profdiff noise corpus"
    echo
    echo "Made by \`scripts/corpus/make.sh\` of profdiff (docs/corpus.md explains the workloads, variants,"
    echo "formats and how to evaluate \`compare\` on it). Real recordings, made on a shared machine while"
    echo "other jobs ran: each \`run-NN.meta\` has the load average and wall time of that run."
    echo
    echo "Layout: \`<format>/<workload>/<variant>/run-NN.<ext>\` + \`run-NN.meta\`; variants \`base\`"
    echo "(identical code, $runs_base runs), \`regress\` (one function ~2x its work, $runs_variant runs), \`speedup\`"
    echo "(one function faster, nothing else changed, $runs_variant runs). \`targets.tsv\`: the function each"
    echo "variant changes, per workload. \`.build/<variant>/\`: the executables the perf.data files refer to"
    echo "(keep them in place: perf.data is symbolized from them)."
    echo
    echo "Beside the runs: \`NOISE.md\` (run-to-run noise measured by \`scripts/corpus/noise.py\`) and"
    echo "\`RESULTS-<binary>.txt\` / \`.jsonl\` (output of \`scripts/corpus/eval.sh BIN\`), when made."
    echo
    echo "| format | workload | runs (base/regress/speedup) | recorded with |"
    echo "|---|---|---|---|"
    local f w
    for f in "$out"/*/; do
      f=$(basename "$f")
      for w in "$out/$f"/*/; do
        w=$(basename "$w")
        local counts=() v
        for v in "${variants[@]}"; do counts+=("$(find "$out/$f/$w/$v" -name 'run-*.meta' 2>/dev/null | wc -l)"); done
        echo "| $f | $w | ${counts[0]}/${counts[1]}/${counts[2]} | \`$(command_for "$f" "$w" base | sed "s|$out|CORPUS|g; s|$wl|WORKLOADS|g")\` |"
      done
    done
    echo
    echo "Machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')."
    echo "Tools: $(perf --version), $(gcc --version | head -1), $(rustc --version), $(go version),"
    echo "Python $($python --version 2>&1 | cut -d' ' -f2), $(py-spy --version), node $(node --version), $("$profdiff" --version)."
    echo "Recorded $(find "$out" -name 'run-*.meta' -exec grep -h '^date:' {} + | sort | sed -n '1s/date: //p;$s/date: //p' | paste -sd' ' | sed 's/ / to /')."
    echo "1-minute load average before each run: $(find "$out" -name 'run-*.meta' -exec grep -h '^loadavg_before:' {} + | awk '{print $2}' | sort -n | sed -n '1p;$p' | paste -sd' ' | sed 's/ / to /') (2 cores)."
  } >"$out/README.md"
}

build
write_targets
for format in "${formats[@]}"; do
  for w in $(workloads_of "$format"); do
    echo "== $format/$w ($(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    for ((i = 1; i <= runs_base; i++)); do
      for v in "${variants[@]}"; do
        [ "$v" != base ] && { [ "$i" -gt "$runs_variant" ] || [ "$format" = pprof-go-heap ]; } && continue
        # shellcheck disable=SC2046
        record "$format" "$w" "$v" "$i" "$(ext_of "$format")" $(command_for "$format" "$w" "$v")
      done
    done
  done
done
write_readme
echo "corpus in $out" >&2
