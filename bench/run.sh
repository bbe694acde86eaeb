#!/usr/bin/env bash
# Benchmarks fixmine against what a user would run instead, side by side on the same machine.
#
# Usage: bench/run.sh [--runs N] [--short] [--no-build] [--bin-dir DIR] [--work DIR]
#                     [--commit REV]... [REPO...]
#   REPO       bare or non-bare git repositories (default: a 20,000-commit bench/gen_repo one)
#   --runs N   runs per figure; the median is printed (default 3)
#   --short    CI mode: a 300-commit generated repository unless REPOs are given, 1 run
#   --no-build use the binaries in --bin-dir as they are (default: build Release in
#              build-release first)
#   --bin-dir  the build folder holding client/fixmine, server/fixmined, bench/store_scan
#   --work     scratch folder for outputs and generated repositories (default: a temp folder)
#   --commit   a commit to time alone against git show -M (repeatable; the one-commit row)
#
# For each repository, prints one row per figure: the median wall time, the baseline's median
# measured in the same run, their ratio, the target, and the peak RSS (/usr/bin/time -v).
#   extract         fixmine extract REPO --out FILE            vs git log -p -M --no-merges
#                   (cpu_s, user + sys, shows the work done when other load skews wall times)
#   extract-nocap   the same with --content-cap 0 (no pre-images), for reference
#   sharded         extract --repo-list (one shard of this one repository)   vs extract
#                   (the server's pipeline and curation: e-mails hashed, secrets redacted, SZZ
#                   for fixes, the trajectory pass; the cost of what the sharded run adds)
#   extract-szz     the same with --szz fixes (bug-introducing links, the server's default)
#   extract-first   extract --max-commits 1000 (100 with --short): per-commit CPU against the
#                   whole history's (linearity; printed as a note)
#   mine            fixmine mine --wait into a fixmined on 127.0.0.1:0   vs extract
#                   (fixmined --szz off --trajectories off: extract's work; cpu_s: the
#                   server's CPU for the mine with its mining workers', from /proc)
#   mine-traj       the same with the trajectory pass (fixmined's default)
#   mine-defaults   the same with fixmined's defaults (--szz fixes, trajectories on),
#                   vs mine --wait (target <= 1.5)
#   store-scan      bench/store_scan: every stored record parsed in one process (no gRPC)
#   records-stream  fixmine records stream > FILE (loopback gRPC)        vs store-scan
#                   (cpu_s: the client's)
#   slow-stream     growth of the server's RSS (MiB, in the rss column) while a reader takes
#                   about 1 MB/s of a stream for 6 s (2 s with --short)
#   re-mine 1%      mine --wait, trajectories off (no --rev: the incremental path, hiding the last mine's tips)
#                   after the only branch of a shared clone moves from about 1% of the commits
#                   back to the tip                                        vs the full mine
#   one-commit      with --commit REV, in each repository holding REV: fixmine extract --rev REV
#                   --max-commits 1 --workers 1   vs git show -M REV (target <= 2; the leveldb
#                   commit 8ea574d1 that deletes 832 binary files is the known case)
#   pydriller       only when `import pydriller` works (it is not installed here: no PyPI)
# Then notes: records/s and MB/s of the scan and the stream, per-commit CPU of the first commits
# and of the whole history, the re-mine's server CPU against the full mine's, the server CPU of
# the mine with its defaults against both off (ratio), and the trajectory pass's share of the
# mine's CPU (target <= 25%). On a machine others use too, wall times are noisy: compare the
# cpu_s column (user + sys) and the CPU ratios of the notes.
# Exit status: 0 when every command ran, 1 when one failed. No timing is asserted.
# The sharded run's dataset stages (signatures, buckets, clusters, filter, card) have their own
# script, bench/dataset.sh: each stage's time, peak RSS and output size (docs/scale-out.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=3
SHORT=0
BUILD=1
BIN="$ROOT/build-release"
WORK=""
REPOS=()
COMMITS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --short) SHORT=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --bin-dir) BIN="$(cd "$2" && pwd)"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --commit) COMMITS+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,51p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) REPOS+=("$(cd "$1" && pwd)"); shift ;;
  esac
done
[ "$SHORT" = 1 ] && RUNS=1
CLEAN_WORK=0
if [ -z "$WORK" ]; then
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/fixmine-bench.XXXXXX")"
  CLEAN_WORK=1
fi
# On any exit (a failed command ends the script under set -e) stop a server left running.
SERVER_PID="" TIME_PID=""
on_exit() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  [ -n "$TIME_PID" ] && wait "$TIME_PID" 2>/dev/null
  [ "$CLEAN_WORK" = 1 ] && rm -rf "$WORK"
  return 0
}
trap on_exit EXIT
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

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# proc_cpu PID: CPU seconds (user + sys) the process and its ended children have used so far.
# fixmined mines in worker processes (pipeline/worker.h) and waits for each: their CPU is in the
# children's fields (cutime, cstime) once the job ends, and settle_server waits for that.
proc_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13 + $14 + $15) / hz}' \
    "/proc/$1/stat" 2>/dev/null || echo nan
}
# settle_server: waits (at most 120 s) until the server's CPU time stops growing, so that the
# background flushes and compactions a mine leaves behind count for that mine and not for the
# next figure (they were 2 s of CPU after a mine of libgit2, half of the old re-mine figure).
settle_server() {
  local a b i
  a=$(proc_cpu "$SERVER_PID")
  for ((i = 0; i < 120; i++)); do
    sleep 1
    b=$(proc_cpu "$SERVER_PID")
    [ "$b" = "$a" ] && return 0
    a=$b
  done
}
# proc_rss_kb PID: resident set size now.
proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# start_server ROOT [DATA [ROOT2]]: a fresh fixmined on 127.0.0.1:0 under /usr/bin/time, data in DATA
# (default $WORK/data); sets FIXMINE_SERVER, TIME_PID and SERVER_PID.
start_server() {
  local data="${2:-$WORK/data}"
  rm -rf "$data" "$WORK/port"
  mkdir -p "$data"
  # --szz off and --trajectories off (unless SZZ=fixes, TRAJECTORIES=on): the same work as
  # extract's default (SZZ and trajectories are measured in the mine-traj and mine-defaults rows).
  "$TIME" -v -o "$WORK/server.time" "$FIXMINED" --listen 127.0.0.1:0 --data-dir "$data" \
    --allowed-root "$1" ${3:+--allowed-root "$3"} --port-file "$WORK/port" --szz "${SZZ:-off}" \
    --trajectories "${TRAJECTORIES:-off}" >"$WORK/server.log" 2>&1 &
  TIME_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  SERVER_PID=$(pgrep -P "$TIME_PID" 2>/dev/null | head -1 || true)
  if [ ! -s "$WORK/port" ] || [ -z "$SERVER_PID" ]; then
    echo "run.sh: fixmined did not start; store figures skipped" >&2
    stop_server
    FAILED=1
    return 1
  fi
  export FIXMINE_SERVER="127.0.0.1:$(cat "$WORK/port")"
}
stop_server() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null
  wait "$TIME_PID" 2>/dev/null || true
  SERVER_PID="" TIME_PID=""
  unset FIXMINE_SERVER
}

# mine_with SZZ TRAJECTORIES: $RUNS mines of $repo (as $name), each into a fresh fixmined with
# --szz SZZ and --trajectories TRAJECTORIES; sets WITH_S (median wall time), WITH_CPU (median
# server CPU, its mining workers included, counted until it settles) and WITH_RSS (the largest
# server peak RSS, MiB).
mine_with() {
  local r kb cpu0 saved rss=0
  local -a times=() cpus=()
  for ((r = 0; r < RUNS; r++)); do
    SZZ=$1 TRAJECTORIES=$2 start_server "$(dirname "$repo")" || return 1
    if ! "$FIXMINE" repo add "$repo" --name "$name" >/dev/null; then
      echo "run.sh: repo add failed for the --szz $1 --trajectories $2 mine" >&2
      FAILED=1
      stop_server
      return 1
    fi
    saved=$RUNS RUNS=1
    cpu0=$(proc_cpu "$SERVER_PID")
    if ! measure "mine-szz-$1-traj-$2" "$FIXMINE" mine "$name" --wait --rev HEAD; then
      RUNS=$saved
      stop_server
      return 1
    fi
    times+=("$MEDIAN")
    settle_server
    cpus+=("$(awk -v a="$(proc_cpu "$SERVER_PID")" -v b="$cpu0" 'BEGIN {printf "%.2f", a - b}')")
    RUNS=$saved
    stop_server
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/server.time")
    [ "${kb:-0}" -gt "$rss" ] && rss=$kb
  done
  WITH_S=$(printf '%s\n' "${times[@]}" | median)
  WITH_CPU=$(printf '%s\n' "${cpus[@]}" | median)
  WITH_RSS=$((rss / 1024))
}

# slow_stream_growth: streams every record to a reader that takes 64 KiB every 60 ms (about
# 1 MB/s) for a few seconds, samples the server's RSS meanwhile and prints the largest growth
# over the RSS before the stream, in MiB.
slow_stream_growth() {
  local before peak kb secs=6 i
  [ "$SHORT" = 1 ] && secs=2
  before=$(proc_rss_kb "$SERVER_PID")
  peak=$before
  "$FIXMINE" records stream 2>/dev/null | python3 -c '
import sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end and sys.stdin.buffer.read1(65536):
    time.sleep(0.06)
' "$secs" &
  local reader=$!
  for ((i = 0; i < secs * 10 + 20; i++)); do
    kill -0 "$reader" 2>/dev/null || break
    kb=$(proc_rss_kb "$SERVER_PID")
    [ "${kb:-0}" -gt "$peak" ] && peak=$kb
    sleep 0.1
  done
  wait "$reader" 2>/dev/null || true
  awk -v a="$peak" -v b="$before" 'BEGIN {printf "%.1f", (a - b) / 1024}'
}

# remine_figure REPO NAME FULL_MINE_S FULL_MINE_CPU: mines a shared clone of REPO whose branch
# is set back so that about 1% of the commits are missing, moves the branch to the real tip and
# mines again; the second mine's wall time and server CPU against the full mine's.
remine_figure() {
  local repo="$1" name="$2" full_s="$3" full_cpu="$4" clone="$WORK/remine/$2.git" total back old
  local -a chain
  local branch new cpu0
  # The newest first-parent commit that leaves at least 1% of the non-merge commits new (a binary
  # search: on a merge-heavy history a date-order skip leaves many more).
  total=$(git -C "$repo" rev-list --count --no-merges HEAD)
  back=$(( (total + 99) / 100 ))
  mapfile -t chain < <(git -C "$repo" rev-list --first-parent HEAD)
  local lo=1 hi=$(( ${#chain[@]} - 1 )) mid
  while [ "$lo" -lt "$hi" ]; do
    mid=$(( (lo + hi) / 2 ))
    if [ "$(git -C "$repo" rev-list --count --no-merges "${chain[$mid]}..HEAD")" -ge "$back" ]; then
      hi=$mid
    else
      lo=$((mid + 1))
    fi
  done
  old=${chain[$lo]}
  rm -rf "$WORK/remine"
  mkdir -p "$WORK/remine"
  git clone -q --bare --shared "$repo" "$clone"
  branch=$(git -C "$clone" symbolic-ref HEAD)
  # Only the branch stays, so that a mine without --rev (which records the tips as the
  # repository's watermark and hides them next time) walks exactly HEAD's history, whatever
  # ref selection is the default.
  git -C "$clone" for-each-ref --format='%(refname)' | grep -vxF "$branch" |
    while read -r ref; do git -C "$clone" update-ref -d "$ref"; done
  git -C "$clone" update-ref "$branch" "$old"
  # The shared clone borrows REPO's objects (an alternate), which must be under an allowed root.
  start_server "$WORK/remine" "$WORK/data-remine" "$repo" || return 0
  "$FIXMINE" repo add "$clone" --name "$name" >/dev/null
  "$FIXMINE" mine "$name" --wait >/dev/null 2>&1 || true
  settle_server
  git -C "$clone" update-ref "$branch" "$(git -C "$repo" rev-parse HEAD)"
  new=$(git -C "$clone" rev-list --count --no-merges "$old..HEAD")
  local RUNS_SAVED=$RUNS
  RUNS=1
  cpu0=$(proc_cpu "$SERVER_PID")
  measure remine "$FIXMINE" mine "$name" --wait || true
  settle_server
  RUNS=$RUNS_SAVED
  local cpu
  cpu=$(awk -v a="$(proc_cpu "$SERVER_PID")" -v b="$cpu0" 'BEGIN {printf "%.2f", a - b}')
  stop_server
  rm -rf "$WORK/data-remine" "$WORK/remine"
  row "$name" "$new" "re-mine 1%" "$MEDIAN" "mine --wait" "$full_s" "<=0.03" "-" "-" "$cpu"
  NOTES+=("$name: re-mine of $new new commits: server CPU $cpu s against $full_cpu s for the full mine ($(awk -v a="$cpu" -v b="$full_cpu" 'BEGIN {if (b > 0) printf "%.3f", a / b}'))")
}

NOTES=()
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
  name="$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '-')"  # a valid repository name
  commits=$(git -C "$repo" rev-list --count --no-merges HEAD)
  echo "== $name: $commits non-merge commits, $RUNS run(s) each" >&2

  measure git git -C "$repo" -c diff.renames=true log -p -M --no-merges --format=%H%n%B || true
  git_s=$MEDIAN
  row "$name" "$commits" "git-log-p" "$git_s" "-" "-" "-" "$RSS" "$OUTMB" "$CPU"

  extract_file="$WORK/extract.jsonl"
  measure extract "$FIXMINE" extract "$repo" --name "$name" --out "$extract_file" -q || true
  extract_s=$MEDIAN extract_cpu=$CPU
  row "$name" "$commits" "extract" "$extract_s" "git-log-p" "$git_s" "<=0.67" "$RSS" \
    "$(du -m "$extract_file" 2>/dev/null | cut -f1)" "$CPU"
  records=$(wc -l <"$extract_file" 2>/dev/null || echo 0)
  rm -f "$extract_file"

  measure extract_nocap "$FIXMINE" extract "$repo" --name "$name" --content-cap 0 \
    --out "$extract_file" -q || true
  row "$name" "$commits" "extract-nocap" "$MEDIAN" "git-log-p" "$git_s" "(info)" "$RSS" \
    "$(du -m "$extract_file" 2>/dev/null | cut -f1)" "$CPU"
  rm -f "$extract_file"

  # The sharded run over this repository alone: a fresh --out each run (a .done marker would
  # make the next run skip).
  shard_dir="$WORK/shard"
  printf '%s %s\n' "$repo" "$name" >"$WORK/shard-list.txt"
  measure sharded bash -c 'rm -rf "$1" && exec "$2" extract --repo-list "$3" --shard-index 0 \
    --shard-count 1 --out "$1" -q --strict' _ "$shard_dir" "$FIXMINE" "$WORK/shard-list.txt" ||
    true
  row "$name" "$commits" "sharded" "$MEDIAN" "extract" "$extract_s" "(info)" "$RSS" \
    "$(du -m "$shard_dir" 2>/dev/null | cut -f1)" "$CPU"
  rm -rf "$shard_dir"
  # SZZ alone: extract with bug-introducing links for fixes (the server's default) against the
  # plain extract.
  measure extract_szz "$FIXMINE" extract "$repo" --name "$name" --szz fixes \
    --out "$extract_file" -q || true
  row "$name" "$commits" "extract-szz" "$MEDIAN" "extract" "$extract_s" "(info)" "$RSS" \
    "$(du -m "$extract_file" 2>/dev/null | cut -f1)" "$CPU"
  rm -f "$extract_file"

  # Linearity: the first N commits of the walk against the whole history, per commit.
  first=1000
  [ "$SHORT" = 1 ] && first=100
  if [ "$records" -gt "$first" ]; then
    measure extract_first "$FIXMINE" extract "$repo" --name "$name" --max-commits "$first" \
      --out "$extract_file" -q || true
    row "$name" "$first" "extract-first" "$MEDIAN" "extract" "$extract_s" "(per commit)" "$RSS" \
      "$(du -m "$extract_file" 2>/dev/null | cut -f1)" "$CPU"
    rm -f "$extract_file"
    first_cpu=$CPU
    # The fixed cost of one run (process start, libgit2 init, the sorted walk's first step):
    # extract of one commit. Printed so that the per-commit figures can be read without it.
    measure extract_one "$FIXMINE" extract "$repo" --name "$name" --max-commits 1 \
      --out "$extract_file" -q || true
    rm -f "$extract_file"
    one_cpu=$CPU
    per_first=$(awk -v t="$first_cpu" -v n="$first" 'BEGIN {printf "%.3f", 1000 * t / n}')
    per_all=$(awk -v t="$extract_cpu" -v n="$records" 'BEGIN {if (n > 0) printf "%.3f", 1000 * t / n}')
    adj_first=$(awk -v t="$first_cpu" -v c="$one_cpu" -v n="$first" 'BEGIN {printf "%.3f", 1000 * (t - c) / n}')
    adj_all=$(awk -v t="$extract_cpu" -v c="$one_cpu" -v n="$records" 'BEGIN {if (n > 0) printf "%.3f", 1000 * (t - c) / n}')
    NOTES+=("$name: linearity: CPU ms per commit, first $first: $per_first, whole history ($records): $per_all, ratio $(awk -v a="$per_first" -v b="$per_all" 'BEGIN {if (b > 0) printf "%.2f", a / b}') (target 0.80 to 1.25); without the fixed cost of a 1-commit run ($one_cpu s): $adj_first and $adj_all, ratio $(awk -v a="$adj_first" -v b="$adj_all" 'BEGIN {if (b > 0) printf "%.2f", a / b}')")
  fi

  # One commit alone (--commit): extract of just that commit against git show -M of it.
  for rev in "${COMMITS[@]}"; do
    git -C "$repo" cat-file -e "$rev^{commit}" 2>/dev/null || continue
    measure show_one git -C "$repo" show -M --format=%H%n%B "$rev" || true
    show_s=$MEDIAN show_cpu=$CPU
    measure extract_rev "$FIXMINE" extract "$repo" --name "$name" --rev "$rev" --max-commits 1 \
      --workers 1 --out "$extract_file" -q || true
    rm -f "$extract_file"
    row "$name" 1 "one-commit" "$MEDIAN" "git-show-M" "$show_s" "<=2" "$RSS" "-" "$CPU"
    NOTES+=("$name: commit $rev alone: extract CPU $CPU s against git show -M $show_cpu s, ratio $(awk -v a="$CPU" -v b="$show_cpu" 'BEGIN {if (b > 0) printf "%.2f", a / b}') (target <= 2)")
  done

  if python3 -c 'import pydriller' 2>/dev/null; then
    measure pydriller python3 "$ROOT/bench/pydriller_walk.py" "$repo" || true
    row "$name" "$commits" "pydriller" "$MEDIAN" "extract" "$extract_s" ">=20" "$RSS" "$OUTMB"
  else
    row "$name" "$commits" "pydriller" "n/a" "-" "-" "(no PyPI)" "-" "-"
  fi

  # Store figures: a fresh fixmined per run, data in $WORK/data.
  if [ -x "$FIXMINED" ]; then
    mine_times=() mine_cpus=() mine_rss=0 stream_s=nan stream_rss=0 scan_s=nan scan_rss=0
    stream_cpu=-
    slow_growth=nan
    for ((r = 0; r < RUNS; r++)); do
      start_server "$(dirname "$repo")" || break
      "$FIXMINE" repo add "$repo" --name "$name" >/dev/null
      RUNS_SAVED=$RUNS RUNS=1
      cpu0=$(proc_cpu "$SERVER_PID")
      measure mine "$FIXMINE" mine "$name" --wait --rev HEAD || true
      mine_times+=("$MEDIAN")
      settle_server  # the mine's own flushes and compactions count for it
      mine_cpus+=("$(awk -v a="$(proc_cpu "$SERVER_PID")" -v b="$cpu0" 'BEGIN {printf "%.2f", a - b}')")
      measure stream "$FIXMINE" records stream || true
      stream_s=$MEDIAN stream_rss=$RSS stream_mb=$OUTMB stream_cpu=$CPU
      RUNS=$RUNS_SAVED
      # Slow consumer (first run only): a reader taking about 1 MB/s for a few seconds; the
      # server's resident memory while it waits must stay near where it started.
      if [ "$r" = 0 ]; then
        slow_growth=$(slow_stream_growth)
      fi
      stop_server
      srv_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/server.time")
      [ "${srv_kb:-0}" -gt "$mine_rss" ] && mine_rss=$srv_kb
    done
    if [ ${#mine_times[@]} -gt 0 ]; then
      mine_s=$(printf '%s\n' "${mine_times[@]}" | median)
      mine_cpu=$(printf '%s\n' "${mine_cpus[@]}" | median)
      row "$name" "$commits" "mine --wait" "$mine_s" "extract" "$extract_s" "<=1.2" \
        "$((mine_rss / 1024))" "-" "$mine_cpu"
      if [ -x "$STORE_SCAN" ]; then
        measure scan "$STORE_SCAN" "$WORK/data" || true
        scan_s=$MEDIAN
        row "$name" "$commits" "store-scan" "$scan_s" "-" "-" "-" "$RSS" "-" "$CPU"
        scan_line=$(cat "$WORK/scan.out" 2>/dev/null || true)
      fi
      # Time ratio stream / scan: at most 2 means at least 50% of the raw scan's throughput.
      row "$name" "$commits" "records-stream" "$stream_s" "store-scan" "$scan_s" \
        "<=2(50%tp)" "$stream_rss" "${stream_mb:-}" "${stream_cpu:--}"
      row "$name" "$commits" "slow-stream" "-" "-" "-" "-" "$slow_growth" "-"
      NOTES+=("$name: store_scan: ${scan_line:-n/a}")
      NOTES+=("$name: records stream: $(awk -v n="$records" -v t="$stream_s" -v mb="${stream_mb:-0}" \
        'BEGIN { if (t > 0) printf "%.0f records/s, %.1f MB/s of JSON", n / t, mb * 1.048576 / t }')")
      NOTES+=("$name: slow-stream: the server's RSS grew by ${slow_growth} MiB while a 1 MB/s reader lagged")
      # The same mine with the trajectory pass (fixmined's default): what a server mining with
      # its defaults (SZZ aside) costs.
      if mine_with off on; then
        traj_s=$WITH_S traj_cpu=$WITH_CPU
        row "$name" "$commits" "mine-traj" "$traj_s" "extract" "$extract_s" "(info)" \
          "$WITH_RSS" "-" "$traj_cpu"
        NOTES+=("$name: mine --wait with trajectories (fixmined's default): server CPU $traj_cpu s against $mine_cpu s without; the trajectory pass is $(awk -v a="$traj_cpu" -v b="$mine_cpu" 'BEGIN {if (a > 0) printf "%.0f%%", 100 * (a - b) / a}') of the mine's CPU (target <= 25%)")
      fi
      # The server's defaults (--szz fixes, --trajectories on) against the same mine with both
      # off (the mine --wait row): the target is <= 1.5x its wall time.
      if mine_with fixes on; then
        def_s=$WITH_S def_cpu=$WITH_CPU
        row "$name" "$commits" "mine-defaults" "$def_s" "mine --wait" "$mine_s" "<=1.5" \
          "$WITH_RSS" "-" "$def_cpu"
        NOTES+=("$name: mine --wait with the server's defaults (--szz fixes, trajectories on): server CPU $def_cpu s against $mine_cpu s with both off, ratio $(awk -v a="$def_cpu" -v b="$mine_cpu" 'BEGIN {if (b > 0) printf "%.2f", a / b}') (wall ratio in the mine-defaults row; target <= 1.5)")
      fi
      remine_figure "$repo" "$name" "$mine_s" "$mine_cpu"
    fi
  else
    row "$name" "$commits" "mine/stream" "n/a" "-" "-" "(no fixmined)" "-" "-"
  fi
  echo "   records: $records" >&2
done

echo
echo "note: wall times are noisy when other work shares the machine; compare cpu_s (user + sys)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); git $(git --version | cut -d' ' -f3); runs: $RUNS (median)"
printf '%-14s %7s  %-14s %8s  %-14s %8s  %6s  %-10s %7s %7s %7s\n' repo commits figure \
  "time_s" baseline "base_s" ratio target cpu_s rss_MiB out_MB
for r in "${ROWS[@]}"; do echo "$r"; done
for n in "${NOTES[@]}"; do echo "$n"; done
echo "PyDriller: $(python3 -c 'import pydriller; print("available")' 2>/dev/null ||
  echo 'not available (no PyPI on this machine; python3-git alone does not provide it)')"
# The script's own check (CI runs it): every repository got an extract ratio.
if [ "$(printf '%s\n' "${ROWS[@]}" | awk '$3 == "extract" && $7 ~ /^[0-9.]+$/' | wc -l)" -ne \
  ${#REPOS[@]} ]; then
  echo "run.sh: an extract ratio is missing" >&2
  FAILED=1
fi
exit "$FAILED"
