#!/usr/bin/env python3
"""Compares the bug-introducing links (SZZ) of two `fixmine extract --szz fixes` outputs of the
same repository, and checks links against `git blame -w`.

Usage:
  tools/szz_compare.py REPO BEFORE.jsonl AFTER.jsonl [--git-sample N] [--show N]

For every fix record (labels.is_fix) in both files it compares labels.bug_introducing_commits.
With --git-sample N (default 0) it also runs `git blame -w` in the fix's first parent on the
lines SZZ blames (the same selection as miner/szz.cc: LinesToBlame and the default bounds of
SzzOptions: 10 files, 200 lines, 512 KiB pre-images), for every record whose links differ and
for the first N records whose links agree, and says which side git agrees with.
Exit status: 0 when the run worked (differences are reported, not failed), 2 on bad input.
"""

import argparse
import json
import subprocess
import sys

MAX_FILES = 10
MAX_LINES = 200
MAX_FILE_BYTES = 512 * 1024

C_LIKE = ["//", "/*", "*"]
HASH = ["#"]
MARKERS = {}
for lang in ["C", "C++", "C#", "CUDA", "Objective-C", "Objective-C++", "Java", "JavaScript",
             "TypeScript", "TSX", "Go", "Rust", "Kotlin", "Swift", "Scala", "Dart", "Groovy",
             "GLSL", "Protocol Buffer", "Zig", "CSS", "SCSS", "Less"]:
    MARKERS[lang] = C_LIKE
for lang in ["Python", "Shell", "Ruby", "Perl", "R", "CMake", "Makefile", "YAML", "TOML",
             "Dockerfile", "Starlark", "PowerShell", "Elixir", "Julia", "Nim"]:
    MARKERS[lang] = HASH
for lang in ["INI", "Assembly", "Emacs Lisp", "Clojure", "Common Lisp", "Scheme"]:
    MARKERS[lang] = [";"]
MARKERS.update({
    "PHP": ["//", "/*", "*", "#"], "Lua": ["--"], "SQL": ["--", "/*", "*"],
    "Haskell": ["--", "{-"], "Erlang": ["%"], "TeX": ["%"], "MATLAB": ["%"],
    "HTML": ["<!--"], "XML": ["<!--"], "Markdown": ["<!--"], "Batchfile": ["REM ", "rem ", "::"],
    "Vim Script": ["\""], "Fortran": ["!"],
})
ASCII_SPACE = " \t\n\v\f\r"


def without_space(s):
    return "".join(c for c in s if c not in ASCII_SPACE)


def comment_only(language, line):
    t = line.lstrip(ASCII_SPACE)
    return any(t.startswith(m) for m in MARKERS.get(language, []))


def lines_to_blame(f):
    """miner/szz.cc LinesToBlame: the deleted lines SZZ blames, in pre-image order."""
    out = []
    for h in f.get("hunks", []):
        deleted, added = [], set()
        old_line = h.get("old_start", 0)
        for line in h.get("text", "").split("\n"):
            if not line:
                continue
            origin, body = line[0], line[1:]
            if origin == " ":
                old_line += 1
            elif origin == "-":
                deleted.append((old_line, body))
                old_line += 1
            elif origin == "+":
                added.add(without_space(body))
        for n, text in deleted:
            bare = without_space(text)
            if not bare or comment_only(f.get("language", ""), text) or bare in added:
                continue
            out.append(n)
    return out


def blameable(f):
    if f.get("change_type") not in ("MODIFIED", "RENAMED"):
        return False
    if any(f.get(k) for k in ("binary", "unavailable", "vendored", "generated", "lockfile")):
        return False
    return f.get("old_mode", 0) != 0o160000 and bool(f.get("hunks"))


def selection(record):
    """(old_path, [line numbers]) per file, with SzzOptions' default bounds."""
    out, files, lines = [], 0, 0
    for f in record.get("files", []):
        if files >= MAX_FILES or lines >= MAX_LINES:
            break
        if not blameable(f):
            continue
        if f.get("old_content_truncated") or \
                len(f.get("old_content", "").encode("utf-8", "surrogateescape")) > MAX_FILE_BYTES:
            continue
        todo = lines_to_blame(f)
        if not todo:
            continue
        todo = todo[:MAX_LINES - lines]
        files += 1
        lines += len(todo)
        out.append((f.get("old_path") or f["path"], todo))
    return out


def git_blame_links(repo, record):
    """The commits `git blame -w` names for the selected lines, in the first parent."""
    found = set()
    parent = record["parents"][0]
    for path, todo in selection(record):
        ranges, start = [], todo[0]
        prev = start
        for n in todo[1:] + [None]:
            if n is not None and n == prev + 1:
                prev = n
                continue
            ranges += ["-L", f"{start},{prev}"]
            if n is not None:
                start = prev = n
        wanted = set(todo)
        res = subprocess.run(["git", "-C", repo, "-c", "blame.ignoreRevsFile=", "blame", "-w",
                              "--porcelain"] + ranges + [parent, "--", path],
                             capture_output=True, text=True, errors="replace")
        if res.returncode != 0:
            continue
        for line in res.stdout.split("\n"):
            parts = line.split(" ")
            if len(parts) >= 3 and len(parts[0]) == 40 and parts[1].isdigit() and \
                    parts[2].isdigit() and int(parts[2]) in wanted:
                found.add(parts[0])
    return sorted(found)


def fixes(path):
    out = {}
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        for line in fh:
            r = json.loads(line)
            if r.get("labels", {}).get("is_fix"):
                out[r["commit"]] = r
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("repo")
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--git-sample", type=int, default=0,
                    help="also check this many agreeing records against git blame -w")
    ap.add_argument("--show", type=int, default=20, help="differing records printed")
    a = ap.parse_args()
    before, after = fixes(a.before), fixes(a.after)
    common = [c for c in before if c in after]
    if not common:
        print("szz_compare: no fix record in both files", file=sys.stderr)
        return 2
    same = [c for c in common if before[c]["labels"].get("bug_introducing_commits", []) ==
            after[c]["labels"].get("bug_introducing_commits", [])]
    differ = [c for c in common if c not in set(same)]
    linked = sum(1 for c in common if after[c]["labels"].get("bug_introducing_commits"))
    print(f"fix records in both: {len(common)} (only before: {len(before) - len(common)}, "
          f"only after: {len(after) - len(common)}); with links after: {linked}")
    print(f"same links: {len(same)}; different: {len(differ)}")
    checked = {"before": 0, "after": 0, "both": 0, "neither": 0}
    shown = 0
    for c in differ + same[:a.git_sample]:
        if not (a.git_sample or c in differ):
            continue
        b = before[c]["labels"].get("bug_introducing_commits", [])
        n = after[c]["labels"].get("bug_introducing_commits", [])
        g = git_blame_links(a.repo, after[c])
        side = "both" if b == g and n == g else "before" if b == g else "after" if n == g \
            else "neither"
        checked[side] += 1
        if c in differ and shown < a.show:
            shown += 1
            print(f"  {c[:12]} git agrees with: {side}")
            print(f"    before: {' '.join(x[:12] for x in b)}")
            print(f"    after:  {' '.join(x[:12] for x in n)}")
            print(f"    git:    {' '.join(x[:12] for x in g)}")
    if a.git_sample or differ:
        print(f"against git blame -w ({sum(checked.values())} records: every differing one "
              f"and {min(a.git_sample, len(same))} agreeing): git agrees with both "
              f"{checked['both']}, only before {checked['before']}, only after "
              f"{checked['after']}, neither {checked['neither']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
