#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs every test (ctest; the tests start
# their own fixmined on loopback ports and build their own git repositories). Then the
# reliability stages (docs/reliability.md): every test under ASan+UBSan, the server tests under
# TSan, and each fuzz target for FUZZ_SECONDS (default 20). SANITIZERS=0 / FUZZ=0 skip those
# stages for a quick local run; CI runs them all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/build.sh
(
  cd "${BUILD_DIR:-build}"
  ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 600
)
if [[ "${SANITIZERS:-1}" != 0 ]]; then
  bash deploy/test-sanitizers.sh all
fi
if [[ "${FUZZ:-1}" != 0 ]]; then
  bash tests/fuzz/run_fuzz.sh "${FUZZ_SECONDS:-20}"
fi
