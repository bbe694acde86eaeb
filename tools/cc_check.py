#!/usr/bin/env python3
"""Checks fixmine's merge-resolution records against `git show --cc` on a real repository.

Runs `fixmine extract REPO --szz off` once (HEAD), then, for every merge of
`git rev-list --merges HEAD`, compares the concatenated `patch` of the merge's record (none when
the miner made no record) byte for byte with `git show --cc --full-index --format= MERGE`, which
is empty for a merge without a conflict resolution. Prints a summary and the first mismatches;
exits 1 on any mismatch, 2 on usage errors.

Usage: tools/cc_check.py REPO [--fixmine PATH] [--records FILE] [--show N]
Standard library only.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

GIT_ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
GIT_CONFIG = ["-c", "core.quotePath=true", "-c", "diff.noprefix=false",
              "-c", "diff.mnemonicPrefix=false", "-c", "diff.algorithm=myers",
              "-c", "diff.indentHeuristic=true", "-c", "diff.renames=true"]


def git(repo, *args):
    return subprocess.run(["git", "-C", repo] + GIT_CONFIG + list(args), env=GIT_ENV,
                          stdout=subprocess.PIPE, check=True).stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo")
    ap.add_argument("--fixmine", default="build/client/fixmine")
    ap.add_argument("--records", help="use this JSONL instead of running fixmine extract")
    ap.add_argument("--show", type=int, default=3, help="mismatches to print")
    a = ap.parse_args()

    records_path = a.records
    tmp = None
    if not records_path:
        tmp = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False)
        records_path = tmp.name
        subprocess.run([a.fixmine, "extract", a.repo, "--szz", "off", "-q", "--out", records_path],
                       check=True)
    mined = {}
    with open(records_path, "rb") as f:
        for line in f:
            r = json.loads(line)
            if r.get("merge_resolution"):
                mined[r["commit"]] = "".join(fc.get("patch", "") for fc in r.get("files", []))
    if tmp:
        os.unlink(tmp.name)

    merges = git(a.repo, "rev-list", "--merges", "HEAD").decode().split()
    resolutions = same = 0
    bad = []
    for m in merges:
        want = git(a.repo, "show", "--cc", "--full-index", "--format=", m)
        got = mined.get(m)
        if want:
            resolutions += 1
        try:
            want_text = want.decode("utf-8")
        except UnicodeDecodeError:
            want_text = want.decode("latin-1")
        if (got or "") == want_text:
            same += 1
        else:
            bad.append((m, want_text, got))
    print(f"merges: {len(merges)}  with a resolution (git --cc not empty): {resolutions}  "
          f"records: {len(mined)}  byte-equal: {same}  mismatches: {len(bad)}")
    for m, want, got in bad[:a.show]:
        print(f"--- mismatch {m}\n--- git:\n{want[:3000]}\n--- fixmine:\n{(got or '')[:3000]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
