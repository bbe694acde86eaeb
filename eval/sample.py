#!/usr/bin/env python3
"""Draws the evaluation sample: for each repository of eval/repos.json with "sample" > 0, that
many non-merge commits reachable from its pinned commit, chosen by random.Random(SEED + name).

Usage: eval/sample.py DIR [--seed N] > eval/sample.txt
DIR holds the clones (DIR/NAME, see eval/README.md). Prints "NAME COMMIT" lines, repository by
repository, commits in the order drawn. The labels in eval/commits.jsonl were made for the
commits this printed with the default seed; rerunning it checks that the sample is the seeded one.
"""
import argparse
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SEED = 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    a = ap.parse_args()
    with open(os.path.join(HERE, "repos.json"), encoding="utf-8") as f:
        repos = json.load(f)
    for r in repos:
        if r.get("sample", 0) <= 0:
            continue
        path = os.path.join(a.dir, r["name"])
        out = subprocess.run(["git", "-C", path, "rev-list", "--no-merges", r["commit"]],
                             check=True, capture_output=True, text=True).stdout.split()
        # rev-list's order depends on commit dates only; sort to make the population an exact set.
        population = sorted(out)
        rng = random.Random(f"{a.seed}:{r['name']}")
        for c in rng.sample(population, r["sample"]):
            print(r["name"], c)
    return 0


if __name__ == "__main__":
    sys.exit(main())
