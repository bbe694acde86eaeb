#!/usr/bin/env bash
# Installs missing dependencies and builds fixmine into BUILD_DIR (default ./build).
# Compiles through ccache with paths relative to the checkout and the working directory left out
# of the hash, so the image build (deploy/Dockerfile, source under /src) reuses these objects.
# Usage: deploy/build.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
bash deploy/install-deps.sh
jobs="$(nproc 2>/dev/null || echo 2)"
source deploy/ccache-env.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "${launcher[@]}" "$@" >/dev/null
ninja -C "$BUILD_DIR" -j "$jobs"
