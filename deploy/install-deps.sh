#!/usr/bin/env bash
# Installs every build and test dependency of fixmine from Debian 12 packages.
# Idempotent: packages already present are left alone; apt-get runs only when one is missing.
# Usage: deploy/install-deps.sh            (as root, or with sudo available)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3 ca-certificates
  libgit2-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev
  libfmt-dev libre2-dev libcli11-dev libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  ruby-github-linguist libcld2-dev libssl-dev openssl
  time
  libzstd-dev zstd
  libcurl4-openssl-dev zlib1g-dev
  prometheus-cpp-dev
  python3-grpcio python3-protobuf python3-zstandard
  python3-yaml ccache clang libclang-rt-14-dev
  # deploy/check-style.py (the style stage of deploy/test.sh).
  clang-format clang-tidy
  # A one-node Slurm cluster for tests/deploy/slurm_dataset_test.py (docs/scale-out.md).
  slurm-wlm munge
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present" >&2
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
