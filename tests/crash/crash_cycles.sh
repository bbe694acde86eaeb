#!/usr/bin/env bash
# Runs the crash-safety cycles (docs/reliability.md) with a chosen count, e.g. 100:
#   tests/crash/crash_cycles.sh 100 [SEED] [BUILD_DIR]
# ctest runs the same test with 10 cycles. Prints the seed; pass it back to replay a run.
set -euo pipefail
cycles="${1:-10}"
seed="${2:-}"
build="${3:-${BUILD_DIR:-build}}"
export FIXMINE_CRASH_CYCLES="$cycles"
if [[ -n "$seed" ]]; then export FIXMINE_CRASH_SEED="$seed"; fi
exec "$build/tests/crash_tests" --gtest_filter='CrashCycles.*'
