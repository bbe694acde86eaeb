#!/usr/bin/env bash
# Builds the libFuzzer targets (clang++, ASan+UBSan) into FUZZ_BUILD_DIR (default build-fuzz)
# and runs each for SECONDS (default 20) from its seed corpus tests/fuzz/corpus/<target>/.
# New inputs go to FUZZ_BUILD_DIR/fuzz-out/<target>/corpus, crashes to fuzz-out/<target>/.
# Exits 1 when a target crashes, leaks, times out or fails an invariant (docs/reliability.md).
# Usage: tests/fuzz/run_fuzz.sh [SECONDS] [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-20}"
shift || true
build="${FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
targets=(filter trajectory_filter resume_token message record_render)

if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DFIXMINE_FUZZ=ON -DFIXMINE_BUILD_TESTS=OFF -DFIXMINE_BUILD_BENCH=OFF "$@" >/dev/null
fi
ninja -C "$build" -j "$jobs" "${targets[@]/%/_fuzz}"

out="$build/fuzz-out"
status=0
for t in "${targets[@]}"; do
  dir="$out/$t"
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb bounds memory per input.
  if "$build/tests/fuzz/${t}_fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" "tests/fuzz/corpus/$t" \
      >"$dir/log" 2>&1; then
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | grep -o '[0-9]*$' || true)"
    echo "fuzz $t: ${secs}s, ${runs:-?} inputs, no crash" >&2
  else
    status=1
    echo "fuzz $t: FAILED; artifacts in $dir; log tail:" >&2
    tail -40 "$dir/log" >&2
  fi
done
exit "$status"
