#!/usr/bin/env bash
# Sanitizer stage of CI (docs/reliability.md): builds the `asan` preset (ASan+UBSan) and runs
# every test under it, then builds the `tsan` preset's server tests (with fixmined and the CLI
# they start) and runs them under TSan. Sanitizer reports from any process, the fixmined
# servers the tests start included, are written under BUILD/sanitizer-reports/; any report
# fails the stage, as does a test failure.
# Usage: deploy/test-sanitizers.sh [asan|tsan|all]   (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
jobs="$(nproc 2>/dev/null || echo 2)"
supp="$PWD/deploy/sanitizer-suppressions"
# Same ccache settings as deploy/build.sh, so a rerun (and CI on this machine) recompiles little.
source deploy/ccache-env.sh

# Fails when a sanitizer wrote a report (the servers' own reports do not fail a test by themselves:
# a TSan report does not stop the process, and a server's exit code is not always checked).
# Reports that went to a test's own output instead (UBSan's fatal reports ignore log_path with
# GCC's runtime) are found in ctest's log.
check_reports() {
  local dir="$1" log="$2"
  local pattern='runtime error:|ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer'
  if [[ -f "$log" ]] && grep -Eq "$pattern" "$log"; then
    echo "sanitizer reports in the tests' output ($log):" >&2
    grep -E -A12 "$pattern" "$log" | head -80 >&2
    return 1
  fi
  if compgen -G "$dir/*" >/dev/null; then
    echo "sanitizer reports in $dir:" >&2
    for f in "$dir"/*; do
      echo "== $f" >&2
      head -60 "$f" >&2
    done
    return 1
  fi
  echo "no sanitizer reports in $dir" >&2
}

run_asan() {
  cmake --preset asan "${launcher[@]}" >/dev/null
  ninja -C build-asan -j "$jobs"
  local reports="$PWD/build-asan/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  local rc=0
  ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0" \
  LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900 || rc=1
  check_reports "$reports" build-asan/Testing/Temporary/LastTest.log || rc=1
  return "$rc"
}

run_tsan() {
  cmake --preset tsan "${launcher[@]}" >/dev/null
  ninja -C build-tsan -j "$jobs" server_tests fixmined fixmine
  # Only the server test binary is built: select its suites, leaving the others' NOT_BUILT entries.
  local suites
  # MetricsTest is left out: its JSON parsing (protobuf's Struct, whose Map code is inlined into
  # the test and runs against Debian's uninstrumented libprotobuf) crashes in Map::find under
  # TSan, in the test process, not the server; it runs in the plain and ASan suites.
  suites="$(build-tsan/tests/server_tests --gtest_list_tests | grep -v '^ ' | sed 's/\.$//' |
            grep -vx 'MetricsTest' | paste -sd'|')"
  local reports="$PWD/build-tsan/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  local rc=0
  TSAN_OPTIONS="log_path=$reports/tsan:suppressions=$supp/tsan.supp:second_deadlock_stack=1" \
    ctest --test-dir build-tsan --output-on-failure -j "$jobs" --timeout 900 \
      -R "^($suites)\\." || rc=1
  check_reports "$reports" build-tsan/Testing/Temporary/LastTest.log || rc=1
  return "$rc"
}

status=0
case "$which" in
  asan) run_asan || status=1 ;;
  tsan) run_tsan || status=1 ;;
  all)
    run_asan || status=1
    run_tsan || status=1
    ;;
  *) echo "usage: deploy/test-sanitizers.sh [asan|tsan|all]" >&2; exit 2 ;;
esac
exit "$status"
