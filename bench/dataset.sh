#!/usr/bin/env bash
# The sharded run's stages, measured (docs/scale-out.md "Sizes"): each task's wall time and peak
# RSS (/usr/bin/time -v) and each stage's output bytes, run locally one task after another (the
# same commands the Slurm driver submits; no scheduler, so no queueing time in the figures).
#
# Usage: bench/dataset.sh [--repos R] [--commits C] [--forks F] [--map-shards N]
#                         [--partitions B] [--bin-dir DIR] [--work DIR]
#   --repos R       generated repositories (bench/gen_repo, seeds 1..R; default 8)
#   --commits C     commits in each (default 300)
#   --forks F       of them, cloned once more as forks (every record an exact duplicate; default 2)
#   --map-shards N  map shards (default 3); --partitions B: bucket partitions (default 4)
#   --bin-dir DIR   the build folder holding client/fixmine (default build)
# Prints one line per stage:
#   dataset STAGE tasks=T wall_s=SUM (max TASK) peak_rss_mib=MAX out_mib=BYTES records=...
# and the record counts in and out. No timing is asserted.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPOS=8 COMMITS=300 FORKS=2 N=3 B=4 BIN="$ROOT/build" WORK=""
while [ $# -gt 0 ]; do
  case "$1" in
    --repos) REPOS="$2"; shift 2 ;;
    --commits) COMMITS="$2"; shift 2 ;;
    --forks) FORKS="$2"; shift 2 ;;
    --map-shards) N="$2"; shift 2 ;;
    --partitions) B="$2"; shift 2 ;;
    --bin-dir) BIN="$(cd "$2" && pwd)"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "dataset.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
FIXMINE="$BIN/client/fixmine"
[ -x "$FIXMINE" ] || { echo "dataset.sh: no $FIXMINE; build the fixmine target" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "dataset.sh: /usr/bin/time is missing (Debian package time)" >&2; exit 1; }
if [ -z "$WORK" ]; then WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK/repos"
: > "$WORK/repos.txt"
for ((s = 1; s <= REPOS; s++)); do
  r="$WORK/repos/r$s.git"
  [ -d "$r" ] || "$ROOT/bench/gen_repo" "$r" --commits "$COMMITS" --seed "$s" >/dev/null
  echo "$r" >> "$WORK/repos.txt"
  if [ "$s" -le "$FORKS" ]; then
    f="$WORK/repos/r$s-fork.git"
    [ -d "$f" ] || git clone -q --bare "$r" "$f"
    echo "$f" >> "$WORK/repos.txt"
  fi
done
OUT="$WORK/out"
rm -rf "$OUT"
common=(--dir "$OUT" --map-shards "$N" --partitions "$B")

# run STAGE TASKS: runs each task under /usr/bin/time -v; prints the stage's line.
run() {
  local stage="$1" tasks="$2" sum=0 max=0 rss=0 t
  for ((i = 0; i < tasks; i++)); do
    case "$stage" in
      map) cmd=("$FIXMINE" extract --repo-list "$WORK/repos.txt" --shard-count "$N" --out "$OUT/map" --shard-index "$i" -q) ;;
      clusters|card) cmd=("$FIXMINE" dataset "$stage" "${common[@]}") ;;
      *) cmd=("$FIXMINE" dataset "$stage" "${common[@]}" --shard-index "$i") ;;
    esac
    /usr/bin/time -v -o "$WORK/time.txt" "${cmd[@]}" 2>>"$WORK/log.txt"
    t="$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(k=1;k<=n;k++) s=s*60+a[k]; print s}' "$WORK/time.txt")"
    r="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")"
    sum="$(awk -v a="$sum" -v b="$t" 'BEGIN {print a + b}')"
    max="$(awk -v a="$max" -v b="$t" 'BEGIN {print (b > a ? b : a)}')"
    [ "$r" -gt "$rss" ] && rss="$r"
  done
  local dir
  case "$stage" in
    map) dir="$OUT/map" ;; signatures) dir="$OUT/stages/signatures" ;; buckets) dir="$OUT/stages/pairs" ;;
    clusters) dir="$OUT/stages/clusters" ;; filter) dir="$OUT/data" ;; card) dir="$OUT/README.md" ;;
  esac
  local bytes
  bytes="$(du -sb "$dir" | cut -f1)"
  printf 'dataset %-10s tasks=%-2d wall_s=%-7.2f (max task %.2f) peak_rss_mib=%-6.1f out_mib=%.2f\n' \
    "$stage" "$tasks" "$sum" "$max" "$(awk -v r="$rss" 'BEGIN {print r / 1024}')" \
    "$(awk -v b="$bytes" 'BEGIN {print b / 1048576}')"
}
echo "dataset: $(wc -l < "$WORK/repos.txt") repositories ($REPOS generated with $COMMITS commits, $FORKS forks), N=$N map shards, B=$B partitions"
run map "$N"
run signatures "$N"
run buckets "$B"
run clusters 1
run filter "$N"
run card 1
python3 - "$OUT/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
d = s["dedup"]
print("dataset: %d records mined -> %d kept; %d exact duplicates removed in %d clusters; "
      "%d near duplicates labelled" % (d["input_records"], s["records"],
      d["exact_duplicates_removed"], d["exact_clusters"], d["near_duplicates_labelled"]))
PY
