#!/usr/bin/env bash
# Peak memory and time of `profdiff top` against input size, per reader: generates inputs of
# each size with scripts/gen-large-inputs.py (kept in DIR, reused when present) and prints a
# table: format, input MB, peak RSS MB, RSS/input, seconds.
#
#   scripts/measure-memory.sh [-b PROFDIFF] [-d DIR] [FORMAT...] [-- SIZE_MB...]
#
# Default sizes 10 50 200; default formats: every generator, plus pprof (folded converted with
# `profdiff convert`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../target/release/profdiff
dir=${TMPDIR:-/tmp}/profdiff-large-inputs
formats=()
sizes=()
while [ $# -gt 0 ]; do
    case $1 in
    -b) bin=$2; shift 2 ;;
    -d) dir=$2; shift 2 ;;
    --) shift; sizes=("$@"); break ;;
    *) formats+=("$1"); shift ;;
    esac
done
[ ${#formats[@]} -gt 0 ] || formats=(chrome-cpu chrome-dur speedscope-sampled speedscope-evented v8 firefox folded perf-script callgrind pprof)
[ ${#sizes[@]} -gt 0 ] || sizes=(10 50 200)
mkdir -p "$dir"

input() { # format size -> path (generated once)
    local f=$1 s=$2 p=$dir/$1-$2.in
    if [ ! -s "$p" ]; then
        if [ "$f" = pprof ]; then
            # pprof compresses ~10x: start from a folded file ten times the size.
            "$bin" convert --to pprof -o "$p" "$(input folded $((s * 10)))" >/dev/null 2>&1
        else
            python3 "$here/gen-large-inputs.py" "$f" "$s" "$p"
        fi
    fi
    echo "$p"
}

printf '%-20s %9s %9s %7s %8s %s\n' format input_MB peak_MB ratio seconds exit
for f in "${formats[@]}"; do
    for s in "${sizes[@]}"; do
        p=$(input "$f" "$s")
        mb=$(awk -v b="$(stat -c %s "$p")" 'BEGIN{printf "%.1f", b/1e6}')
        log=$(mktemp)
        set +e
        /usr/bin/time -v "$bin" top "$p" >/dev/null 2>"$log"
        set -e
        rss=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$log")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$log" |
            awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
        code=$(awk -F': ' '/Exit status/{print $2}' "$log")
        ratio=$(awk -v r="$rss" -v m="$mb" 'BEGIN{printf "%.1f", r/m}')
        printf '%-20s %9s %9s %7s %8s %s\n' "$f" "$mb" "$rss" "$ratio" "$wall" "$code"
        rm -f "$log"
    done
done
