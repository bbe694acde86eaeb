#!/usr/bin/env python3
"""Checks `fixmine extract` against the git CLI on a real repository.

Runs `fixmine extract REPO` once (HEAD, no contents), then compares, for every non-merge
commit of `git log --no-merges HEAD`:
  * the set of records against the set of commits (and each record's parents),
  * per file: path, old path, status letter and similarity, modes and blob ids (from one
    streaming `git log -M --raw`), added/deleted lines and binary (from `--numstat` in the same
    run),
  * each file's patch, byte for byte, against `git log -M -p --full-index` (one streaming run;
    `--patches sample` uses `git show` on every 50th commit instead, `none` skips patches).
Files the miner marks `unavailable` (a blob missing from the repository) are counted apart and
their contents are not compared. Prints a summary; exits 1 on any mismatch, 2 on usage errors.

Usage: tools/fidelity_check.py REPO [--fixmine PATH] [--records FILE] [--patches all|sample|none]
Standard library only.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

MARK = b"\x01\x02FIXMINE "
STATUS = {"ADDED": "A", "DELETED": "D", "MODIFIED": "M", "RENAMED": "R", "COPIED": "C",
          "TYPE_CHANGED": "T"}
GIT_ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
GIT_CONFIG = ["-c", "diff.renameLimit=1000", "-c", "diff.renames=true", "-c", "core.quotePath=true",
              "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
              "-c", "diff.algorithm=myers", "-c", "diff.indentHeuristic=true"]


def decode_path(raw):
    """The miner stores paths as UTF-8, decoding invalid UTF-8 as ISO-8859-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def git(repo, *args):
    return ["git", "-C", repo] + GIT_CONFIG + list(args)


def stream_commits(repo, args):
    """Yields (header fields, body bytes) per commit of a `git log` with MARK headers."""
    fmt = "--format=%x01%x02FIXMINE %H %P%x02%x01"
    proc = subprocess.Popen(git(repo, "log", *args, fmt, "HEAD"), stdout=subprocess.PIPE,
                            env=GIT_ENV)
    buf = b""
    header = None
    while True:
        chunk = proc.stdout.read(1 << 20)
        if chunk:
            buf += chunk
        while True:
            start = buf.find(MARK)
            if start < 0:
                break
            end = buf.find(b"\x02\x01", start)
            if end < 0:
                break
            if header is not None:
                yield header, buf[:start]
            elif start > 0 and buf[:start].strip(b"\0\n"):
                raise RuntimeError("unexpected git output before the first commit")
            header = buf[start + len(MARK):end].decode("ascii").split()
            buf = buf[end + 2:]
        if not chunk:
            break
    if header is not None:
        yield header, buf
    if proc.wait() != 0:
        raise RuntimeError("git log failed")


def parse_raw_numstat(body):
    """Parses `--raw --numstat -z` output of one commit into a list of file dicts."""
    tokens = body.split(b"\0")
    files = []
    numstats = []
    i = 0
    while i < len(tokens):
        tok = tokens[i].lstrip(b"\n")
        i += 1
        if not tok:
            continue
        if tok.startswith(b":"):
            old_mode, new_mode, old_id, new_id, status = tok[1:].decode().split(" ")
            f = {"status": status[0], "similarity": int(status[1:]) if len(status) > 1 else 0,
                 "old_mode": int(old_mode, 8), "new_mode": int(new_mode, 8),
                 "old_blob": "" if set(old_id) == {"0"} else old_id,
                 "new_blob": "" if set(new_id) == {"0"} else new_id}
            if status[0] in "RC":
                f["old_path"], f["path"] = tokens[i], tokens[i + 1]
                i += 2
            else:
                f["old_path"] = f["path"] = tokens[i]
                i += 1
            files.append(f)
        else:
            added, deleted, path = tok.split(b"\t", 2)
            if not path:
                i += 2
            numstats.append((added.decode(), deleted.decode()))
    if len(numstats) != len(files):
        raise RuntimeError("raw and numstat entries disagree: %d vs %d" % (len(files), len(numstats)))
    for f, (a, d) in zip(files, numstats):
        f["binary"] = a == "-"
        f["added"] = 0 if a == "-" else int(a)
        f["deleted"] = 0 if d == "-" else int(d)
    return files


def sections(patch):
    """Splits one commit's patch at each line starting with "diff --git "."""
    out = []
    starts = []
    pos = 0
    if patch.startswith(b"diff --git "):
        starts.append(0)
    while True:
        pos = patch.find(b"\ndiff --git ", pos)
        if pos < 0:
            break
        starts.append(pos + 1)
        pos += 1
    for k, s in enumerate(starts):
        out.append(patch[s:starts[k + 1] if k + 1 < len(starts) else len(patch)])
    return out


class Checker:
    def __init__(self, examples):
        self.counts = collections.Counter()
        self.mismatch = collections.Counter()
        self.examples = []
        self.max_examples = examples

    def bad(self, kind, commit, detail):
        self.mismatch[kind] += 1
        if len(self.examples) < self.max_examples:
            self.examples.append("%s %s: %s" % (kind, commit[:12], detail))

    def compare_files(self, commit, rec, git_files):
        if rec.get("renames_skipped"):
            self.counts["records with renames skipped"] += 1
        files = rec.get("files", [])
        if len(files) != len(git_files):
            self.bad("file count", commit, "ours %d, git %d" % (len(files), len(git_files)))
            return
        for f, g in zip(files, git_files):
            self.counts["files compared"] += 1
            path = decode_path(g["path"])
            unavailable = f.get("unavailable", False)
            if unavailable:
                self.counts["unavailable files"] += 1
            checks = [
                ("path", f.get("path", ""), path),
                ("old path", f.get("old_path", ""), decode_path(g["old_path"])),
                ("status", STATUS.get(f.get("change_type"), "?"), g["status"]),
                ("similarity", f.get("similarity", 0) if g["status"] in "RC" else 0,
                 g["similarity"] if g["status"] in "RC" else 0),
                ("mode", (f.get("old_mode", 0), f.get("new_mode", 0)), (g["old_mode"], g["new_mode"])),
                ("blob", (f.get("old_blob", ""), f.get("new_blob", "")), (g["old_blob"], g["new_blob"])),
            ]
            if not unavailable:
                checks += [
                    ("binary", f.get("binary", False), g["binary"]),
                    ("added", f.get("added", 0), g["added"]),
                    ("deleted", f.get("deleted", 0), g["deleted"]),
                ]
            ok = True
            for kind, ours, theirs in checks:
                if ours != theirs:
                    ok = False
                    self.bad(kind, commit, "%s: ours %r, git %r" % (path, ours, theirs))
            if ok:
                self.counts["files agreeing"] += 1

    def compare_patch(self, commit, rec, patch):
        secs = sections(patch)
        k = 0
        for f in rec.get("files", []):
            n = 2 if f.get("change_type") == "TYPE_CHANGED" else 1
            theirs = b"".join(secs[k:k + n])
            k += n
            if f.get("unavailable"):
                continue
            self.counts["patches compared"] += 1
            enc = "latin-1" if f.get("content_encoding") == "ISO-8859-1" else "utf-8"
            ours = f.get("patch", "").encode(enc)
            if ours != theirs:
                # Show the first differing line.
                a, b = ours.split(b"\n"), theirs.split(b"\n")
                j = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
                self.bad("patch", commit, "%s line %d: ours %r, git %r" % (
                    f.get("path"), j + 1, a[j] if j < len(a) else None, b[j] if j < len(b) else None))
            else:
                self.counts["patches agreeing"] += 1
        if k != len(secs):
            self.bad("patch sections", commit, "ours %d, git %d" % (k, len(secs)))


def load_records(path):
    records = {}
    dupes = 0
    with open(path, "rb") as f:
        for line in f:
            r = json.loads(line)
            for fc in r.get("files", []):
                for key in ("old_content", "new_content", "hunks"):
                    fc.pop(key, None)
            r.pop("message", None)
            if r["commit"] in records:
                dupes += 1
            records[r["commit"]] = r
    return records, dupes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("repo")
    ap.add_argument("--fixmine", default=os.path.join(os.path.dirname(__file__), "..",
                                                      "build-miner", "client", "fixmine"))
    ap.add_argument("--records", help="existing JSONL from `fixmine extract` (skips extraction)")
    ap.add_argument("--patches", choices=["all", "sample", "none"], default="all")
    ap.add_argument("--sample-every", type=int, default=50)
    ap.add_argument("--examples", type=int, default=25, help="mismatches to print")
    ap.add_argument("--time-git", action="store_true",
                    help="also time `git log -p -M --no-merges HEAD` for comparison")
    args = ap.parse_args()

    tmp = None
    timings = {}
    if args.records:
        records_path = args.records
    else:
        tmp = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False)
        records_path = tmp.name
        t0 = time.monotonic()
        rc = subprocess.call([args.fixmine, "extract", args.repo, "--out", records_path,
                              "--content-cap", "0"])
        timings["fixmine extract (content cap 0)"] = time.monotonic() - t0
        if rc != 0:
            print("fidelity: fixmine extract failed (%d)" % rc, file=sys.stderr)
            return 1
    if args.time_git:
        t0 = time.monotonic()
        subprocess.check_call(git(args.repo, "log", "-p", "-M", "--no-merges", "HEAD"),
                              stdout=subprocess.DEVNULL, env=GIT_ENV)
        timings["git log -p -M --no-merges"] = time.monotonic() - t0
    try:
        records, dupes = load_records(records_path)
    finally:
        if tmp is not None:
            os.unlink(records_path)

    chk = Checker(args.examples)
    chk.counts["records"] = len(records)
    if dupes:
        chk.bad("duplicate record", "-" * 12, "%d commits twice" % dupes)
    seen = set()
    order = []
    for header, body in stream_commits(args.repo, ["-M", "--no-merges", "--raw", "--numstat", "-z",
                                                   "--no-abbrev"]):
        commit, parents = header[0], header[1:]
        seen.add(commit)
        order.append(commit)
        chk.counts["commits"] += 1
        rec = records.get(commit)
        if rec is None:
            chk.bad("missing record", commit, "no record for a non-merge commit")
            continue
        if rec.get("parents", []) != parents:
            chk.bad("parents", commit, "ours %r, git %r" % (rec.get("parents"), parents))
        chk.compare_files(commit, rec, parse_raw_numstat(body))
    for commit in records:
        if commit not in seen:
            chk.bad("extra record", commit, "record for a commit git log --no-merges does not list")

    if args.patches == "all":
        for header, body in stream_commits(args.repo, ["-M", "--no-merges", "-p", "--full-index"]):
            rec = records.get(header[0])
            if rec is None:
                continue
            chk.compare_patch(header[0], rec, body[1:] if body.startswith(b"\n") else body)
    elif args.patches == "sample":
        for commit in order[::args.sample_every]:
            rec = records.get(commit)
            if rec is None:
                continue
            patch = subprocess.check_output(
                git(args.repo, "show", "-M", "--full-index", "--format=", commit), env=GIT_ENV)
            chk.compare_patch(commit, rec, patch)

    print("fidelity check of %s" % args.repo)
    for key in ["commits", "records", "files compared", "files agreeing", "unavailable files",
                "records with renames skipped", "patches compared", "patches agreeing"]:
        print("  %-30s %d" % (key, chk.counts[key]))
    if chk.counts["files compared"]:
        print("  %-30s %.4f%%" % ("file agreement",
                                  100.0 * chk.counts["files agreeing"] / chk.counts["files compared"]))
    if chk.counts["patches compared"]:
        print("  %-30s %.4f%%" % ("patch agreement",
                                  100.0 * chk.counts["patches agreeing"] / chk.counts["patches compared"]))
    for key, secs in timings.items():
        print("  %-30s %.1f s" % (key, secs))
    if chk.mismatch:
        print("mismatches by kind:")
        for kind, n in chk.mismatch.most_common():
            print("  %-30s %d" % (kind, n))
        print("first mismatches:")
        for e in chk.examples:
            print("  " + e)
        return 1
    print("no mismatches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
