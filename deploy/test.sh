#!/usr/bin/env bash
# Installs what is missing, builds everything, checks the style (clang-format and clang-tidy,
# deploy/check-style.py), and runs every test (ctest; the tests start
# their own fixmined on loopback ports and build their own git repositories; tests/crash kills
# and restarts servers and fills a tmpfs, as root). Then each fuzz target for FUZZ_SECONDS
# (default 20; FUZZ=0 skips), and the container image is built and checked with podman
# (deploy/test-image.sh; FIXMINE_SKIP_IMAGE_TEST=1 leaves it out of a quick local run; CI runs
# it). Last, every test again under ASan+UBSan and the server tests under TSan
# (deploy/test-sanitizers.sh; SANITIZERS=0 leaves them out of a quick local run; CI runs them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/build.sh
# House style (../shared/STYLE.md): every tracked C++ file as .clang-format makes it, and no
# clang-tidy (.clang-tidy) finding in any tracked *.cc the build compiles. clang-tidy runs only on
# the files whose key (the file as the compiler preprocesses it, so every header it includes,
# with its compile command, .clang-tidy and the clang-tidy version) is neither in
# deploy/tidy-clean.txt nor in the local cache: a cold CI checks what changed since the list was
# refreshed (docs/development.md). STYLE=0 skips both checks, STYLE_TIDY=0 the clang-tidy one;
# `deploy/check-style.py --fix-format` formats the tree.
if [[ "${STYLE:-1}" != 0 ]]; then
  if [[ "${STYLE_TIDY:-1}" != 0 ]]; then
    python3 deploy/check-style.py --build-dir "${BUILD_DIR:-build}"
  else
    python3 deploy/check-style.py --format-only
  fi
fi
(
  cd "${BUILD_DIR:-build}"
  ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 600
)
if [[ "${FUZZ:-1}" != 0 ]]; then
  bash tests/fuzz/run_fuzz.sh "${FUZZ_SECONDS:-20}"
fi
if [[ "${FIXMINE_SKIP_IMAGE_TEST:-0}" != 1 ]]; then
  bash deploy/test-image.sh
fi
if [[ "${SANITIZERS:-1}" != 0 ]]; then
  bash deploy/test-sanitizers.sh all
fi
