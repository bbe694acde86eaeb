# Sourced by deploy/build.sh and deploy/test-sanitizers.sh from the checkout's root: compiles
# through ccache (when installed) with paths relative to the checkout and the working directory
# left out of the hash, so other checkouts and the image build (deploy/Dockerfile sets the same
# under /src) reuse the objects. Sets `launcher` to the CMake options that turn it on.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true CCACHE_COMPILERCHECK=content
  export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-include_file_mtime,include_file_ctime}"
  # ccache hashes the locale; the image build compiles with LANG=C.UTF-8 too.
  export LANG=C.UTF-8
  unset LC_ALL LC_CTYPE LC_MESSAGES
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
