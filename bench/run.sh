#!/usr/bin/env bash
# Benchmarks fixmine against what a user would run instead, side by side on the same machine.
#
# Usage: bench/run.sh [--runs N] [--short] [--no-build] [--bin-dir DIR] [--work DIR] [REPO...]
#   REPO       bare or non-bare git repositories (default: a 20,000-commit bench/gen_repo one)
#   --runs N   runs per figure; the median is printed (default 3)
#   --short    CI mode: a 300-commit generated repository unless REPOs are given, 1 run
#   --no-build use the binaries in --bin-dir as they are (default: build Release in
#              build-release first)
#   --bin-dir  the build folder holding client/fixmine, server/fixmined, bench/store_scan
#   --work     scratch folder for outputs and generated repositories (default: a temp folder)
#
# For each repository, prints one row per figure: the median wall time, the baseline's median
# measured in the same run, their ratio, the target, and the peak RSS (/usr/bin/time -v).
#   extract         fixmine extract REPO --out FILE            vs git log -p -M --no-merges
#                   (cpu_s, user + sys, shows the work done when other load skews wall times)
#   extract-nocap   the same with --content-cap 0 (no pre-images), for reference
#   mine            fixmine mine --wait into a fixmined on 127.0.0.1:0   vs extract
#   stream          fixmine records stream > FILE (loopback gRPC)        vs bench/store_scan
#   pydriller       only when `import pydriller` works (it is not installed here: no PyPI)
# Exit status: 0 when every command ran, 1 when one failed. No timing is asserted.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=3
SHORT=0
BUILD=1
BIN="$ROOT/build-release"
WORK=""
REPOS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --short) SHORT=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --bin-dir) BIN="$(cd "$2" && pwd)"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) REPOS+=("$(cd "$1" && pwd)"); shift ;;
  esac
done
[ "$SHORT" = 1 ] && RUNS=1
if [ -z "$WORK" ]; then
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/fixmine-bench.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then
  echo "run.sh: $TIME is missing (apt-get install time; see deploy/install-deps.sh)" >&2
  exit 2
fi

if [ "$BUILD" = 1 ]; then
  echo "== building Release in $BIN" >&2
  cmake -S "$ROOT" -B "$BIN" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFIXMINE_BUILD_TESTS=OFF >/dev/null
  ninja -C "$BIN" ${FIXMINE_BENCH_JOBS:+-j "$FIXMINE_BENCH_JOBS"} fixmine >&2
  ninja -C "$BIN" ${FIXMINE_BENCH_JOBS:+-j "$FIXMINE_BENCH_JOBS"} fixmined store_scan >&2 ||
    echo "run.sh: fixmined or store_scan did not build; store figures skipped" >&2
fi
FIXMINE="$BIN/client/fixmine"
FIXMINED="$BIN/server/fixmined"
STORE_SCAN="$BIN/bench/store_scan"
[ -x "$FIXMINE" ] || { echo "run.sh: $FIXMINE is missing" >&2; exit 2; }

if [ ${#REPOS[@]} -eq 0 ]; then
  n=20000
  [ "$SHORT" = 1 ] && n=300
  echo "== generating a $n-commit repository (bench/gen_repo)" >&2
  rm -rf "$WORK/gen$n.git"
  python3 "$ROOT/bench/gen_repo" "$WORK/gen$n.git" --commits "$n"
  REPOS=("$WORK/gen$n.git")
fi

FAILED=0
# measure NAME CMD... : runs CMD $RUNS times (stdout to $WORK/NAME.out) and sets MEDIAN (s),
# RSS (MiB, largest over the runs) and OUTMB (size of the last output).
measure() {
  local name="$1"; shift
  local times=() cpus=() rss=0 i
  for ((i = 0; i < RUNS; i++)); do
    if ! "$TIME" -v -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
      echo "run.sh: $name failed: $*" >&2
      tail -5 "$WORK/$name.err" >&2 || true
      FAILED=1
      MEDIAN=nan CPU=nan RSS=0 OUTMB=0
      return 1
    fi
    local wall kb
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/$name.time" |
      awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/$name.time")
    times+=("$wall")
    cpus+=("$(awk -F': ' '/User time|System time/ {t += $2} END {printf "%.2f", t}' "$WORK/$name.time")")
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  MEDIAN=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  CPU=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  RSS=$((rss / 1024))
  OUTMB=$(du -m "$WORK/$name.out" 2>/dev/null | cut -f1)
}

ROWS=()
row() {  # repo commits figure median baseline_name baseline target rss out_mb [cpu]
  local ratio
  ratio=$(awk -v a="$4" -v b="$6" 'BEGIN { if (b > 0 && a == a) printf "%.2f", a / b; else print "-" }')
  ROWS+=("$(printf '%-14s %7s  %-14s %8s  %-14s %8s  %6s  %-10s %7s %7s %7s' \
    "$1" "$2" "$3" "$4" "$5" "$6" "$ratio" "$7" "${10:--}" "$8" "$9")")
}

for repo in "${REPOS[@]}"; do
  name="$(basename "$repo" .git)"
  [ "$name" = repo ] && name="$(basename "$(dirname "$repo")")"
  commits=$(git -C "$repo" rev-list --count --no-merges HEAD)
  echo "== $name: $commits non-merge commits, $RUNS run(s) each" >&2

  measure git git -C "$repo" -c diff.renames=true log -p -M --no-merges --format=%H%n%B || true
  git_s=$MEDIAN
  row "$name" "$commits" "git-log-p" "$git_s" "-" "-" "-" "$RSS" "$OUTMB" "$CPU"

  extract_file="$WORK/extract.jsonl"
  measure extract "$FIXMINE" extract "$repo" --name "$name" --out "$extract_file" -q || true
  extract_s=$MEDIAN
  row "$name" "$commits" "extract" "$extract_s" "git-log-p" "$git_s" "<=0.67" "$RSS" \
    "$(du -m "$extract_file" 2>/dev/null | cut -f1)" "$CPU"
  records=$(wc -l <"$extract_file" 2>/dev/null || echo 0)
  rm -f "$extract_file"

  measure extract_nocap "$FIXMINE" extract "$repo" --name "$name" --content-cap 0 \
    --out "$extract_file" -q || true
  row "$name" "$commits" "extract-nocap" "$MEDIAN" "git-log-p" "$git_s" "(info)" "$RSS" \
    "$(du -m "$extract_file" 2>/dev/null | cut -f1)" "$CPU"
  rm -f "$extract_file"

  if python3 -c 'import pydriller' 2>/dev/null; then
    measure pydriller python3 "$ROOT/bench/pydriller_walk.py" "$repo" || true
    row "$name" "$commits" "pydriller" "$MEDIAN" "extract" "$extract_s" ">=20" "$RSS" "$OUTMB"
  else
    row "$name" "$commits" "pydriller" "n/a" "-" "-" "(no PyPI)" "-" "-"
  fi

  # Store figures: a fresh fixmined per run, data in $WORK/data.
  if [ -x "$FIXMINED" ]; then
    mine_times=() mine_rss=0 stream_s=nan stream_rss=0 scan_s=nan scan_rss=0
    for ((r = 0; r < RUNS; r++)); do
      rm -rf "$WORK/data" "$WORK/port"
      mkdir -p "$WORK/data"
      "$TIME" -v -o "$WORK/server.time" "$FIXMINED" --listen 127.0.0.1:0 --data-dir "$WORK/data" \
        --allowed-root "$(dirname "$repo")" --port-file "$WORK/port" \
        >"$WORK/server.log" 2>&1 &
      tpid=$!  # /usr/bin/time; the server is its child, stopped through stop_server
      stop_server() {
        local child
        child=$(pgrep -P "$tpid" 2>/dev/null || true)
        [ -n "$child" ] && kill "$child" 2>/dev/null
        wait "$tpid" 2>/dev/null || true
      }
      for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
      if [ ! -s "$WORK/port" ]; then
        echo "run.sh: fixmined did not start; store figures skipped" >&2
        stop_server
        FAILED=1
        break
      fi
      export FIXMINE_SERVER="127.0.0.1:$(cat "$WORK/port")"
      "$FIXMINE" repo add "$repo" --name "$name" >/dev/null
      RUNS_SAVED=$RUNS RUNS=1
      measure mine "$FIXMINE" mine "$name" --wait --rev HEAD || true
      mine_times+=("$MEDIAN")
      measure stream "$FIXMINE" records stream || true
      stream_s=$MEDIAN stream_rss=$RSS stream_mb=$OUTMB
      RUNS=$RUNS_SAVED
      stop_server
      srv_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/server.time")
      [ "${srv_kb:-0}" -gt "$mine_rss" ] && mine_rss=$srv_kb
      unset FIXMINE_SERVER
    done
    if [ ${#mine_times[@]} -gt 0 ]; then
      mine_s=$(printf '%s\n' "${mine_times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
      row "$name" "$commits" "mine --wait" "$mine_s" "extract" "$extract_s" "<=1.2" \
        "$((mine_rss / 1024))" "-"
      if [ -x "$STORE_SCAN" ]; then
        measure scan "$STORE_SCAN" "$WORK/data" || true
        scan_s=$MEDIAN
        row "$name" "$commits" "store-scan" "$scan_s" "-" "-" "-" "$RSS" "-"
      fi
      # Time ratio stream / scan: at most 2 means at least 50% of the raw scan's throughput.
      row "$name" "$commits" "records-stream" "$stream_s" "store-scan" "$scan_s" \
        "<=2(50%tp)" "$stream_rss" "${stream_mb:-}"
    fi
  else
    row "$name" "$commits" "mine/stream" "n/a" "-" "-" "(no fixmined)" "-" "-"
  fi
  echo "   records: $records" >&2
done

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); git $(git --version | cut -d' ' -f3); runs: $RUNS (median)"
printf '%-14s %7s  %-14s %8s  %-14s %8s  %6s  %-10s %7s %7s %7s\n' repo commits figure \
  "time_s" baseline "base_s" ratio target cpu_s rss_MiB out_MB
for r in "${ROWS[@]}"; do echo "$r"; done
echo "PyDriller: $(python3 -c 'import pydriller; print("available")' 2>/dev/null ||
  echo 'not available (no PyPI on this machine; python3-git alone does not provide it)')"
# The script's own check (CI runs it): every repository got an extract ratio.
if [ "$(printf '%s\n' "${ROWS[@]}" | awk '$3 == "extract" && $7 ~ /^[0-9.]+$/' | wc -l)" -ne \
  ${#REPOS[@]} ]; then
  echo "run.sh: an extract ratio is missing" >&2
  FAILED=1
fi
exit "$FAILED"
