#!/usr/bin/env bash
# Installs missing dependencies and builds fixmine into BUILD_DIR (default ./build).
# Usage: deploy/build.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
bash deploy/install-deps.sh
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@" >/dev/null
ninja -C "$BUILD_DIR" -j "$jobs"
