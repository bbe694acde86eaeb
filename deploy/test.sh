#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs every test (ctest; the tests start
# their own fixmined on loopback ports and build their own git repositories), then builds and
# checks the container image (deploy/test-image.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/build.sh
(cd "${BUILD_DIR:-build}" &&
  ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 600)
# The container image, built and run with podman (docs/deploy.md); FIXMINE_SKIP_IMAGE_TEST=1
# leaves it out of a quick local run. CI runs it.
if [ "${FIXMINE_SKIP_IMAGE_TEST:-0}" != 1 ]; then
  bash deploy/test-image.sh
fi
