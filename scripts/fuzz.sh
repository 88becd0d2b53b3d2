#!/bin/sh
# Fuzz every profile reader: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Builds the in-process mutation fuzzer (examples/fuzz, optimized: throughput matters) and
# runs each target for SECONDS_PER_TARGET (default 60). Prints per target its seeds,
# executions, time, panics caught inside readers and crashes; exits non-zero on any crash
# (an escaped panic, an abort or signal, a hang over 1 s, an allocation over 1 GiB).
# Crashing inputs are written to target/fuzz-crashes/<target>/. Targets come from
# formats::Format::ALL, so readers added later are fuzzed with no change here.
# PROFDIFF_FUZZ_PROFILE=dev builds without optimization (with overflow checks);
# PROFDIFF_FUZZ_EXECS=N ends a target after N executions; PROFDIFF_FUZZ_SEED=N fixes the
# random seed (every run prints its seed; the default comes from the clock), so that with the
# same seed and budget a run feeds the readers the same inputs again (CI does this).
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
profile=${PROFDIFF_FUZZ_PROFILE:-release}
if [ "$profile" = dev ]; then
    nice cargo build --quiet --example fuzz
    bin=target/debug/examples/fuzz
else
    nice cargo build --quiet --release --example fuzz
    bin=target/release/examples/fuzz
fi
exec nice "$bin" "$secs" "$@"
