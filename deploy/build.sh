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
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true CCACHE_COMPILERCHECK=content
  export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-include_file_mtime,include_file_ctime}"
  # ccache hashes the locale; the image build compiles with LANG=C.UTF-8 too.
  export LANG=C.UTF-8
  unset LC_ALL LC_CTYPE LC_MESSAGES
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "${launcher[@]}" "$@" >/dev/null
ninja -C "$BUILD_DIR" -j "$jobs"
