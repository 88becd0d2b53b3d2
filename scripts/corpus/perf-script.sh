#!/usr/bin/env bash
# perf-script.sh PERF_DATA OUT: `perf script` text of a recording (what stackcollapse-perf and
# profdiff's perf script reader take), written to OUT.
set -euo pipefail
perf script -i "$1" >"$2.tmp" 2>/dev/null
mv "$2.tmp" "$2"
