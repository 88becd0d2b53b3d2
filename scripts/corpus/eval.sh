#!/usr/bin/env bash
# Count false verdicts of `profdiff compare` on the corpus of scripts/corpus/make.sh.
#
#   scripts/corpus/eval.sh [PROFDIFF_BIN] [CORPUS_DIR] [eval.py options...]
#
# Defaults: target/release/profdiff of this checkout, /work/corpus. Exit 0 when every target
# is met (no false verdict or gate trip on identical code, the injected regression named first
# and flagged, no gate trip on a pure speed-up), 1 when one is missed, 2 on usage errors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/eval.py" "$@"
