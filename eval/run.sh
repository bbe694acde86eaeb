#!/usr/bin/env bash
# Mines the evaluation repositories with fixmine and prints precision and recall of its labels
# against the hand labels (docs/evaluation.md, eval/LABELLING.md).
#
# Usage: eval/run.sh [--check] [--labels DIR] [--work DIR] [--json FILE] [--show N] REPOS_DIR
#   REPOS_DIR  a folder holding one clone per repository of eval/repos.json, named as its "name"
#              (REPOS_DIR/leveldb, REPOS_DIR/fmt, ...), each containing the pinned commit.
#   --check    only say which repositories are missing; mine nothing.
#   --labels   the label set (default: this script's folder); tests pass a small one.
#   --work     where the mined records go (default: a new folder under ${TMPDIR:-/tmp}).
#   --json     also write the figures as JSON here.
#   --show N   errors listed per label (default 12).
# The fixmine CLI is $FIXMINE_CLI, else build/client/fixmine of this checkout.
# Exit status: 0 scored; 2 bad usage or repositories missing (each named, with the commit it
# needs); 1 when mining failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
labels="$here"
work=""
json=""
show=12
check_only=0
repos_dir=""
usage() { sed -n '4,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check) check_only=1 ;;
    --labels) labels="${2:?--labels needs a folder}"; shift ;;
    --work) work="${2:?--work needs a folder}"; shift ;;
    --json) json="${2:?--json needs a file}"; shift ;;
    --show) show="${2:?--show needs a number}"; shift ;;
    -h|--help) usage ;;
    -*) echo "eval/run.sh: unknown option $1" >&2; usage ;;
    *) [[ -z "$repos_dir" ]] || { echo "eval/run.sh: give one REPOS_DIR" >&2; usage; }
       repos_dir="$1" ;;
  esac
  shift
done
[[ -n "$repos_dir" ]] || { echo "eval/run.sh: REPOS_DIR is missing" >&2; usage; }
[[ -d "$repos_dir" ]] || { echo "eval/run.sh: \"$repos_dir\" is not a folder" >&2; exit 2; }
[[ -f "$labels/repos.json" ]] || { echo "eval/run.sh: \"$labels\" has no repos.json" >&2; exit 2; }
python="$(command -v python3 || true)"
[[ -n "$python" ]] || { echo "eval/run.sh: python3 is needed" >&2; exit 2; }

# name, url, commit and sample size of each repository, one per line.
mapfile -t repos < <("$python" -c '
import json, sys
for r in json.load(open(sys.argv[1], encoding="utf-8")):
    print(r["name"], r["url"], r["commit"], r.get("sample", 0))' "$labels/repos.json")

missing=0
for line in "${repos[@]}"; do
  read -r name url commit _ <<<"$line"
  dir="$repos_dir/$name"
  if [[ ! -e "$dir" ]]; then
    echo "missing: $name (needs commit $commit): git clone $url \"$dir\"" >&2
    missing=$((missing + 1))
  elif ! git -C "$dir" rev-parse -q --verify "$commit^{commit}" >/dev/null 2>&1; then
    echo "missing: $name: \"$dir\" lacks commit $commit (git -C \"$dir\" fetch $url)" >&2
    missing=$((missing + 1))
  fi
done
if [[ $missing -gt 0 ]]; then
  echo "eval/run.sh: $missing of ${#repos[@]} repositories are missing from \"$repos_dir\"" >&2
  exit 2
fi
echo "eval/run.sh: all ${#repos[@]} repositories are in \"$repos_dir\"" >&2
[[ $check_only -eq 0 ]] || exit 0

fixmine="${FIXMINE_CLI:-$root/build/client/fixmine}"
[[ -x "$fixmine" ]] || {
  echo "eval/run.sh: no fixmine CLI at \"$fixmine\"; build it (docs/evaluation.md) or set FIXMINE_CLI" >&2
  exit 2
}
if [[ -z "$work" ]]; then
  work="$(mktemp -d "${TMPDIR:-/tmp}/fixmine-eval.XXXXXX")"
fi
mkdir -p "$work/szz"
echo "eval/run.sh: mining into \"$work\" with $fixmine" >&2

for line in "${repos[@]}"; do
  read -r name url commit sample <<<"$line"
  # Sampled repositories: their whole history to the pinned commit (labels of every sampled
  # commit); the others: the pinned commit alone (the license).
  limit=()
  [[ "$sample" -gt 0 ]] || limit=(--max-commits 1)
  if ! "$fixmine" extract "$repos_dir/$name" --name "$name" --rev "$commit" "${limit[@]}" \
      --out "$work/$name.jsonl" -q; then
    echo "eval/run.sh: mining $name failed" >&2
    exit 1
  fi
done

# SZZ: each judged fix alone, with its links computed whatever its is_fix label says, so the
# links are scored apart from the fix detection.
if [[ -f "$labels/szz.jsonl" ]]; then
  while read -r name fix; do
    if ! "$fixmine" extract "$repos_dir/$name" --name "$name" --rev "$fix" --max-commits 1 \
        --szz all --out "$work/szz/$fix.jsonl" -q; then
      echo "eval/run.sh: mining fix $fix of $name failed" >&2
      exit 1
    fi
  done < <("$python" -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    if line.strip():
        s = json.loads(line)
        print(s["repo"], s["fix"])' "$labels/szz.jsonl")
fi

args=("$labels" "$work" --show "$show")
[[ -z "$json" ]] || args+=(--json "$json")
exec "$python" "$here/score.py" "${args[@]}"
