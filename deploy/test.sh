#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs every test (ctest; the tests start
# their own fixmined on loopback ports and build their own git repositories).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 600
