#!/usr/bin/env python3
"""The house style checks that CI runs (../shared/STYLE.md: "CI fails on unformatted files" and
"a small, agreed clang-tidy check set").

  deploy/check-style.py [--build-dir build] [--format-only] [--fix-format] [-j N]
                        [--update-clean-list] [FILE_OR_FOLDER ...]

1. clang-format: every tracked C++ file (*.cc, *.h) must be what `clang-format` (.clang-format:
   Google base, 100 columns) makes of it. --fix-format rewrites them instead of failing.
2. clang-tidy: every tracked *.cc that the build's compile_commands.json compiles is checked with
   the repository's .clang-tidy; any warning fails the run. A file's result is cached under
   $FIXMINE_TIDY_CACHE (default ~/.cache/fixmine-tidy) by a hash of the check set, the
   clang-tidy version, the compile command and the file as the compiler preprocesses it (so any
   change to it or to a header it includes, the project's or Debian's, checks it again). The
   checkout's own path is left out of the hash, so the keys carry over between clones:
   deploy/tidy-clean.txt lists the keys of the last full clean check (`--update-clean-list`
   rewrites it), and a fresh clone checks only the files whose key is not in it. A file with a
   finding is never written to the list, so it fails every run until it is fixed. Headers are
   not checked on their own (no HeaderFilterRegex): their code is checked as far as the *.cc
   files that include them use it, and a change to a header re-checks every *.cc including it.

FILE_OR_FOLDER limits both checks to the tracked files at or below those paths (for example
`deploy/check-style.py -j2 common tests/hostile`); with --update-clean-list the keys of those
files replace theirs in the list and the other files' keys stay.

Exit status: 0 clean, 1 a finding (each printed), 2 a usage or tool error.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tracked(patterns, limit):
    out = subprocess.run(["git", "ls-files", "--", *patterns], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    paths = [p for p in out.splitlines() if p]
    if limit:
        paths = [p for p in paths if any(p == d or p.startswith(d + "/") for d in limit)]
    return paths


def check_format(fix, limit):
    bad = []
    for path in tracked(["*.cc", "*.h"], limit):
        full = os.path.join(ROOT, path)
        with open(full, "rb") as f:
            before = f.read()
        after = subprocess.run(["clang-format", "--style=file", full], capture_output=True,
                               check=True).stdout
        if after != before:
            if fix:
                with open(full, "wb") as f:
                    f.write(after)
            bad.append(path)
    if bad and not fix:
        for path in bad:
            print(f"check-style: {path}: not formatted (run: clang-format -i {path})")
        print(f"check-style: {len(bad)} file(s) differ from .clang-format; "
              "`deploy/check-style.py --fix-format` formats them all")
        return 1
    if bad:
        print(f"check-style: formatted {len(bad)} file(s)")
    return 0


def preprocess_key(entry, salt):
    """Hash of the file as the compiler sees it, with its command and the check set."""
    args = entry.get("arguments") or shlex.split(entry["command"])
    pre = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD") or a.startswith("-o"):
            continue
        pre.append(a)
    pre.append("-E")
    out = subprocess.run(pre, cwd=entry["directory"], capture_output=True)
    if out.returncode != 0:
        return None
    h = hashlib.sha256(salt)
    h.update(" ".join(args).replace(ROOT, "@ROOT@").encode())
    h.update(out.stdout.replace(ROOT.encode(), b"@ROOT@"))
    return h.hexdigest()


def tidy_one(entry, build_dir, cache, salt, clean_list):
    path = entry["file"]
    key = preprocess_key(entry, salt)
    marker = os.path.join(cache, key) if key else None
    if key and (key in clean_list or os.path.exists(marker)):
        return path, "", True, key
    out = subprocess.run(["clang-tidy", "-p", build_dir, "--quiet", path], cwd=ROOT,
                         capture_output=True, text=True)
    findings = "\n".join(line for line in out.stdout.splitlines()
                         if ": warning: " in line or ": error: " in line)
    if out.returncode != 0 and not findings:
        findings = f"{path}: clang-tidy exited {out.returncode}: {out.stderr.strip()[-2000:]}"
    if not findings and marker:
        with open(marker, "w") as f:
            f.write("clean\n")
    return path, findings, False, key


def read_clean_list(path):
    """{relative path: key} of the clean list (empty when there is none)."""
    entries = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip() and line[0] != "#":
                    key, rel = line.split(maxsplit=1)
                    entries[rel.strip()] = key
    return entries


def check_tidy(build_dir, jobs, clean_list_path, update_clean_list, limit):
    db_path = os.path.join(build_dir, "compile_commands.json")
    if not os.path.exists(db_path):
        print(f"check-style: {db_path} is missing: build first (deploy/build.sh)")
        return 2
    with open(db_path) as f:
        db = json.load(f)
    mine = {os.path.join(ROOT, p) for p in tracked(["*.cc"], limit)}
    entries, seen = [], set()
    for e in db:
        full = os.path.normpath(os.path.join(e["directory"], e["file"]))
        if full in mine and full not in seen:
            seen.add(full)
            entries.append(dict(e, file=full))
    with open(os.path.join(ROOT, ".clang-tidy"), "rb") as f:
        config = f.read()
    version = subprocess.run(["clang-tidy", "--version"], capture_output=True).stdout
    salt = hashlib.sha256(config + version).digest()
    cache = os.environ.get("FIXMINE_TIDY_CACHE",
                           os.path.join(os.path.expanduser("~"), ".cache", "fixmine-tidy"))
    os.makedirs(cache, exist_ok=True)
    listed = read_clean_list(clean_list_path)
    clean_list = set(listed.values())
    failed = 0
    cached = 0
    clean_keys = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(tidy_one, e, build_dir, cache, salt, clean_list) for e in entries]
        for fut in concurrent.futures.as_completed(futures):
            path, findings, hit, key = fut.result()
            cached += hit
            if findings:
                failed += 1
                print(findings)
            elif key:
                clean_keys[os.path.relpath(path, ROOT)] = key
    if update_clean_list and failed:
        print("check-style: the clean list is left as it was (fix the findings first)")
    elif update_clean_list:
        if limit:
            checked = {os.path.relpath(e["file"], ROOT) for e in entries}
            kept = {rel: key for rel, key in listed.items()
                    if rel not in checked and os.path.exists(os.path.join(ROOT, rel))}
            clean_keys = dict(kept, **clean_keys)
        with open(clean_list_path, "w") as f:
            f.write("# deploy/check-style.py --update-clean-list: keys of files clang-tidy found "
                    "clean\n")
            for rel in sorted(clean_keys):
                f.write(f"{clean_keys[rel]} {rel}\n")
    print(f"check-style: clang-tidy checked {len(entries)} files ({cached} unchanged since a clean "
          f"check), {failed} with findings")
    return 1 if failed else 0


def main():
    global ROOT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", metavar="FILE_OR_FOLDER",
                    help="check only the tracked files at or below these paths")
    ap.add_argument("--root", default=ROOT, help=argparse.SUPPRESS)  # for its own test
    ap.add_argument("--build-dir")
    ap.add_argument("--format-only", action="store_true")
    ap.add_argument("--fix-format", action="store_true")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--clean-list")
    ap.add_argument("--update-clean-list", action="store_true",
                    help="after a run without findings, record every file's key as clean")
    a = ap.parse_args()
    ROOT = os.path.abspath(a.root)
    build_dir = os.path.abspath(a.build_dir or os.path.join(ROOT, "build"))
    clean_list = a.clean_list or os.path.join(ROOT, "deploy", "tidy-clean.txt")
    limit = []
    for p in a.paths:
        rel = os.path.relpath(os.path.abspath(p), ROOT)
        if rel.startswith(".."):
            print(f"check-style: {p} is outside {ROOT}")
            return 2
        limit.append("" if rel == "." else rel)
    if "" in limit:
        limit = []
    rc = check_format(a.fix_format, limit)
    if a.format_only or a.fix_format:
        return rc
    return max(rc, check_tidy(build_dir, a.j, clean_list, a.update_clean_list, limit))


if __name__ == "__main__":
    sys.exit(main())
