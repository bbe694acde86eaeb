#!/usr/bin/env python3
"""Turns the hand-written judgement notes (one line per sampled commit:
"SHA12 F|- LANG [R] [B] # why") into eval/commits.jsonl, adding each changed file with its
language by the rules of eval/LABELLING.md ("Language of a file"). Run once by the labeller;
the output was then reviewed file by file where the rules say "by reading" (.h, files without an
extension, ambiguous extensions). Not part of the harness.

Usage: eval/make_labels.py DIR NOTES_DIR > eval/commits.jsonl
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LINGUIST = "/usr/share/ruby-github-linguist/languages.json"

# Extensions linguist lists under more than one language, settled as linguist's heuristics
# settle them for these repositories (checked by reading the files).
AMBIGUOUS = {".md": "Markdown", ".txt": "Text", ".cfg": "INI", ".1": "Roff Manpage",
             ".yml": "YAML", ".yaml": "YAML", ".json": "JSON", ".html": "HTML", ".rs": "Rust",
             ".in": "", ".h": None}
CPP_MARKERS = re.compile(r"^\s*(template\s*<|namespace\s+\w+|class\s+\w+|(private|public|protected):\s*$)"
                         r"|std::\w+|^\s*#\s*include\s*<(string|vector|map|cstdint|memory|atomic|iterator|limits|type_traits)>",
                         re.M)
SHEBANG = [(re.compile(r"^#!.*\b(node|nodejs)\b"), "JavaScript"),
           (re.compile(r"^#!.*\b(sh|bash|zsh|dash)\b"), "Shell"),
           (re.compile(r"^#!.*\bpython[0-9.]*\b"), "Python"),
           (re.compile(r"^#!.*\bperl\b"), "Perl"),
           (re.compile(r"^#!.*\bruby\b"), "Ruby")]


def load_linguist():
    data = json.load(open(LINGUIST, encoding="utf-8"))
    by_ext, by_name = {}, {}
    for lang, info in data.items():
        for e in info.get("extensions", []):
            by_ext.setdefault(e.lower(), []).append(lang)
        for f in info.get("filenames", []):
            by_name.setdefault(f, []).append(lang)
    return by_ext, by_name


def blob(repo, commit, path):
    r = subprocess.run(["git", "-C", repo, "show", f"{commit}:{path}"], capture_output=True)
    return r.stdout if r.returncode == 0 else b""


def language(repo, commit, parent, path, status, by_ext, by_name):
    name = path.rsplit("/", 1)[-1]
    if name in by_name:
        return by_name[name][0], "filename"
    content = blob(repo, commit if status != "D" else parent, path)
    lower = name.lower()
    for i, ch in enumerate(lower):
        if ch != "." or i == 0:
            continue
        ext = lower[i:]
        if ext == ".h":
            text = content.decode("utf-8", "replace")
            return ("C++" if CPP_MARKERS.search(text) else "C"), "content (.h)"
        if ext in AMBIGUOUS:
            return AMBIGUOUS[ext], "extension (settled)"
        if ext in by_ext:
            if len(by_ext[ext]) > 1:
                return "?" + "|".join(by_ext[ext]), "ambiguous"
            return by_ext[ext][0], "extension"
    first = content.split(b"\n", 1)[0].decode("utf-8", "replace")
    for pat, lang in SHEBANG:
        if pat.search(first):
            return lang, "shebang"
    return "", "none"


def main():
    repos_dir, notes_dir = sys.argv[1], sys.argv[2]
    by_ext, by_name = load_linguist()
    sample = [l.split() for l in open(os.path.join(HERE, "sample.txt"))]
    notes = {}
    for fn in os.listdir(notes_dir):
        for line in open(os.path.join(notes_dir, fn), encoding="utf-8"):
            if not line.strip():
                continue
            head, _, why = line.partition("#")
            tok = head.split()
            notes[tok[0]] = (tok, why.strip())
    for repo_name, commit in sample:
        tok, why = notes[commit[:12]]
        repo = os.path.join(repos_dir, repo_name)
        parent = commit + "^"
        out = subprocess.run(["git", "-C", repo, "show", "--no-renames", "--name-status",
                              "--format=", commit], capture_output=True, text=True,
                             check=True).stdout
        files = []
        for line in out.splitlines():
            parts = line.split("\t")
            status, path = parts[0][0], parts[-1]
            lang, how = language(repo, commit, parent, path, status, by_ext, by_name)
            files.append({"path": path, "language": lang, "how": how})
        rec = {"repo": repo_name, "commit": commit, "is_fix": tok[1] == "F",
               "is_revert": "R" in tok[3:], "is_bot": "B" in tok[3:],
               "message_language": tok[2], "why": why, "files": files}
        print(json.dumps(rec, ensure_ascii=False))


if __name__ == "__main__":
    main()
