#!/usr/bin/env bash
# Submits a whole sharded fixmine run to Slurm as job arrays chained with --dependency=afterok
# (docs/scale-out.md):
#
#   map (N tasks: fixmine extract --repo-list) -> signatures (N) -> buckets (B) -> clusters (1)
#   -> filter (N) -> card (1)
#
# Each array task runs its stage's command up to --retries times (a retry redoes only that
# task; its outputs are written atomically and it is skipped once its .done marker exists).
# On a resubmission only the unfinished tasks are submitted: a stage whose markers all exist
# gets no job, and a stage with some gets an array of just the missing indices. A task that
# fails for good (or is cancelled) cancels the stages after it (--kill-on-invalid-dep), so the
# queue empties; run this script again to finish.
#
# Usage: fixmine-dataset.sh --repo-list FILE --out DIR --map-shards N --partitions B
#          [--fixmine PATH] [--retries K] [--sbatch-arg ARG]... [--wait]
#          [-- STAGE FLAGS: --split repo --split-fractions A,B,C --fresh-after DATE
#              --preset P --near-dup-threshold T; EXTRACT FLAGS after --extract: ...]
# Prints one line per submitted stage: "STAGE JOBID INDICES"; "all tasks complete" when there
# was nothing left to do.
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

repo_list="" out="" map_shards="" partitions="" retries=3 wait_jobs=0
fixmine="${FIXMINE:-fixmine}"
sbatch_args=() stage_flags=() extract_flags=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repo-list) repo_list="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --map-shards) map_shards="$2"; shift 2 ;;
    --partitions) partitions="$2"; shift 2 ;;
    --fixmine) fixmine="$2"; shift 2 ;;
    --retries) retries="$2"; shift 2 ;;
    --sbatch-arg) sbatch_args+=("$2"); shift 2 ;;
    --wait) wait_jobs=1; shift ;;
    --) shift
        while [[ $# -gt 0 && "$1" != --extract ]]; do stage_flags+=("$1"); shift; done
        if [[ $# -gt 0 ]]; then shift; extract_flags=("$@"); fi
        break ;;
    -h|--help) usage ;;
    *) echo "fixmine-dataset.sh: unknown argument \"$1\"" >&2; usage ;;
  esac
done
for v in repo_list out map_shards partitions; do
  if [[ -z "${!v}" ]]; then echo "fixmine-dataset.sh: --${v//_/-} is required" >&2; usage; fi
done
[[ "$map_shards" =~ ^[1-9][0-9]*$ ]] || { echo "fixmine-dataset.sh: --map-shards must be a positive number" >&2; exit 2; }
[[ "$partitions" =~ ^[1-9][0-9]*$ ]] || { echo "fixmine-dataset.sh: --partitions must be a positive number" >&2; exit 2; }
[[ "$retries" =~ ^[1-9][0-9]*$ ]] || { echo "fixmine-dataset.sh: --retries must be 1 or more" >&2; exit 2; }
[[ -r "$repo_list" ]] || { echo "fixmine-dataset.sh: cannot read the repository list \"$repo_list\"" >&2; exit 2; }
# Batch jobs may run on other nodes: every path absolute (the folder must be shared).
mkdir -p "$out/logs" "$out/slurm"
out="$(cd "$out" && pwd)"
repo_list="$(cd "$(dirname "$repo_list")" && pwd)/$(basename "$repo_list")"
if [[ "$fixmine" == */* ]]; then fixmine="$(cd "$(dirname "$fixmine")" && pwd)/$(basename "$fixmine")"; fi

N="$map_shards" B="$partitions"
common=(--dir "$out" --map-shards "$N" --partitions "$B")
# The flags each dataset stage accepts, picked from the stage flags.
pick() {  # pick STAGE: prints the stage flags that STAGE takes, NUL-separated
  local stage="$1" i=0 f
  while [[ $i -lt ${#stage_flags[@]} ]]; do
    f="${stage_flags[$i]}"
    case "$f" in
      --near-dup-threshold) [[ "$stage" =~ ^(signatures|buckets|card)$ ]] && printf '%s\0%s\0' "$f" "${stage_flags[$((i+1))]}" ;;
      --split|--split-fractions|--fresh-after|--preset) [[ "$stage" == filter ]] && printf '%s\0%s\0' "$f" "${stage_flags[$((i+1))]}" ;;
      *) echo "fixmine-dataset.sh: unknown stage flag \"$f\"" >&2; exit 2 ;;
    esac
    i=$((i+2))
  done
}
quote() { local s; printf -v s '%q ' "$@"; printf '%s' "${s% }"; }

# The .done marker of task I of a stage.
marker() {
  case "$1" in
    map) echo "$out/map/train-$2-of-$N.done" ;;
    signatures) echo "$out/stages/signatures/$2-of-$N.done" ;;
    buckets) echo "$out/stages/pairs/$2-of-$B.done" ;;
    clusters) echo "$out/stages/clusters/clusters.done" ;;
    filter) echo "$out/stages/filter/$2-of-$N.done" ;;
    card) echo "$out/stages/card.done" ;;
  esac
}
tasks() {
  case "$1" in map|signatures|filter) echo "$N" ;; buckets) echo "$B" ;; *) echo 1 ;; esac
}
# The stage's command for task "$i" (expanded in the batch script).
command_of() {
  local stage="$1" flags=()
  if [[ "$stage" == map ]]; then
    quote "$fixmine" extract --repo-list "$repo_list" --shard-count "$N" --out "$out/map" \
      ${extract_flags[@]+"${extract_flags[@]}"}
    printf ' --shard-index "$i"'
    return
  fi
  while IFS= read -r -d '' f; do flags+=("$f"); done < <(pick "$stage")
  if [[ "$stage" == card ]]; then
    local cmd
    cmd="$(quote fixmine-dataset.sh --repo-list "$repo_list" --out "$out" --map-shards "$N" --partitions "$B" -- ${stage_flags[@]+"${stage_flags[@]}"})"
    flags+=(--command "$cmd")
  fi
  quote "$fixmine" dataset "$stage" "${common[@]}" ${flags[@]+"${flags[@]}"}
  if [[ "$stage" =~ ^(signatures|buckets|filter)$ ]]; then printf ' --shard-index "$i"'; fi
}
# Validate the stage flags now, not in a batch job.
for s in signatures buckets filter card; do pick "$s" > /dev/null; done

prev="" submitted=0
for stage in map signatures buckets clusters filter card; do
  count="$(tasks "$stage")" todo=()
  for ((i = 0; i < count; i++)); do
    [[ -e "$(marker "$stage" "$i")" ]] || todo+=("$i")
  done
  if [[ ${#todo[@]} -eq 0 ]]; then continue; fi
  indices="$(IFS=,; echo "${todo[*]}")"
  script="$out/slurm/$stage.sh"
  cat > "$script" <<SCRIPT
#!/usr/bin/env bash
# fixmine $stage, written by fixmine-dataset.sh: one array task, retried up to $retries times.
i="\${SLURM_ARRAY_TASK_ID:-0}"
for attempt in \$(seq 1 $retries); do
  $(command_of "$stage") && exit 0
  rc=\$?
  echo "fixmine-dataset: $stage task \$i: attempt \$attempt of $retries failed (exit \$rc)" >&2
  [[ \$attempt -lt $retries ]] && sleep \$((attempt * 2))
done
exit 1
SCRIPT
  chmod +x "$script"
  args=(--parsable --job-name "fixmine-$stage" --array "$indices" --kill-on-invalid-dep=yes
        --output "$out/logs/$stage-%a.log" --chdir "$out")
  if [[ -n "$prev" ]]; then args+=(--dependency "afterok:$prev"); fi
  job="$(sbatch "${args[@]}" ${sbatch_args[@]+"${sbatch_args[@]}"} "$script")"
  job="${job%%;*}"
  echo "$stage $job $indices"
  prev="$job" submitted=1
done
if [[ $submitted -eq 0 ]]; then echo "all tasks complete"; exit 0; fi
if [[ $wait_jobs -eq 1 ]]; then
  while [[ -n "$(squeue -h -j "$prev" -o %i 2>/dev/null)" ]]; do sleep 2; done
  [[ -e "$(marker card 0)" ]] || { echo "fixmine-dataset.sh: the run did not complete; see $out/logs and run this script again" >&2; exit 1; }
fi
