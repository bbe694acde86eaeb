#!/usr/bin/env python3
"""Scores fixmine's labels against the hand labels of the evaluation set (eval/LABELLING.md).

Usage: eval/score.py LABELS_DIR WORK_DIR [--json FILE] [--show N]

LABELS_DIR holds repos.json, commits.jsonl, szz.jsonl and licenses.jsonl (eval/ itself, or the
small set a test writes). WORK_DIR holds what eval/run.sh mined: NAME.jsonl (`fixmine extract`
of each repository at its pinned commit) and szz/FIX.jsonl (the fix alone, `--szz all`).
Prints one table: precision and recall per label, then the confusions (which commits, files or
repositories were labelled wrong, and how). --json writes the same figures as one JSON object.
Standard library only. Exit status 0 when it scored, 2 on bad input.
"""
import argparse
import collections
import json
import os
import sys


def read_jsonl(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SystemExit(f"score.py: {path}:{n}: not JSON: {e}")
    return out


def ratio(a, b):
    return a / b if b else None


def fmt(x):
    return "  n/a" if x is None else f"{x:5.3f}"


def norm_license(expr):
    """SPDX expressions compared without case, and with the operands of a top-level OR as a set
    ("MIT OR Apache-2.0" equals "Apache-2.0 OR MIT")."""
    parts = [p.strip().lower() for p in expr.replace("(", " ").replace(")", " ").split(" OR ")]
    return " or ".join(sorted(" ".join(p.split()) for p in parts if p))


class Binary:
    """One yes/no label: counts and the commits behind each error."""

    def __init__(self, name):
        self.name = name
        self.tp = self.fp = self.fn = self.tn = 0
        self.errors = []  # (kind, repo, commit, subject, why)

    def add(self, truth, pred, repo, commit, subject, why):
        if truth and pred:
            self.tp += 1
        elif pred:
            self.fp += 1
            self.errors.append(("FP", repo, commit, subject, why))
        elif truth:
            self.fn += 1
            self.errors.append(("FN", repo, commit, subject, why))
        else:
            self.tn += 1

    def figures(self):
        n = self.tp + self.fp + self.fn + self.tn
        return {"n": n, "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "precision": ratio(self.tp, self.tp + self.fp),
                "recall": ratio(self.tp, self.tp + self.fn),
                "accuracy": ratio(self.tp + self.tn, n)}


def load_mined(work, repos):
    mined = {}
    for r in repos:
        path = os.path.join(work, r["name"] + ".jsonl")
        if not os.path.exists(path):
            continue
        for rec in read_jsonl(path):
            mined[(r["name"], rec["commit"])] = rec
    return mined


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("labels")
    ap.add_argument("work")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--show", type=int, default=12, help="errors listed per label (default 12)")
    a = ap.parse_args()
    for f in ("repos.json", "commits.jsonl"):
        if not os.path.exists(os.path.join(a.labels, f)):
            print(f"score.py: {a.labels} has no {f}", file=sys.stderr)
            return 2
    with open(os.path.join(a.labels, "repos.json"), encoding="utf-8") as f:
        repos = json.load(f)
    truth = read_jsonl(os.path.join(a.labels, "commits.jsonl"))
    szz_truth = (read_jsonl(os.path.join(a.labels, "szz.jsonl"))
                 if os.path.exists(os.path.join(a.labels, "szz.jsonl")) else [])
    lic_truth = (read_jsonl(os.path.join(a.labels, "licenses.jsonl"))
                 if os.path.exists(os.path.join(a.labels, "licenses.jsonl")) else [])
    mined = load_mined(a.work, repos)

    labels = {k: Binary(k) for k in ("is_fix", "is_revert", "is_bot")}
    fix_by_repo = collections.defaultdict(lambda: Binary("is_fix"))
    # is_fix again without the release commits that bundle fixes (LABELLING.md, "is_fix"):
    # they are fixes by the set's rule and not by issue 20's reading; both figures are shown.
    fix_no_release = Binary("is_fix")
    lang_by_repo = collections.defaultdict(lambda: [0, 0])  # right, compared
    not_mined = []
    msg_lang = collections.Counter()
    msg_errors = []
    lang_pairs = collections.Counter()  # (truth, predicted) -> files
    lang_example = {}
    files_unmatched = []
    for t in truth:
        rec = mined.get((t["repo"], t["commit"]))
        if rec is None:
            not_mined.append((t["repo"], t["commit"]))
            continue
        got = rec.get("labels", {})
        subject = rec.get("subject", "")
        if not t.get("release_bundle"):
            fix_no_release.add(bool(t["is_fix"]), bool(got.get("is_fix", False)), t["repo"],
                               t["commit"], subject, "")
        fix_by_repo[t["repo"]].add(bool(t["is_fix"]), bool(got.get("is_fix", False)), t["repo"],
                                   t["commit"], subject, "")
        for k, b in labels.items():
            b.add(bool(t[k]), bool(got.get(k, False)), t["repo"], t["commit"], subject,
                  t.get("why", ""))
        want, have = t.get("message_language", ""), rec.get("message_language", "")
        if want == have:
            msg_lang["right"] += 1
        elif not have:
            msg_lang["none"] += 1
            msg_errors.append((t["repo"], t["commit"], subject, want, "(none)"))
        else:
            msg_lang["wrong"] += 1
            msg_errors.append((t["repo"], t["commit"], subject, want, have))
        by_path = {}
        for f in rec.get("files", []):
            by_path.setdefault(f.get("path", ""), f)
            if f.get("old_path"):
                by_path.setdefault(f["old_path"], f)
        for tf in t["files"]:
            mf = by_path.get(tf["path"])
            if mf is None:
                files_unmatched.append((t["repo"], t["commit"], tf["path"]))
                continue
            pair = (tf["language"], mf.get("language", ""))
            lang_pairs[pair] += 1
            lang_by_repo[t["repo"]][0] += pair[0] == pair[1]
            lang_by_repo[t["repo"]][1] += 1
            lang_example.setdefault(pair, f"{t['repo']}:{tf['path']}")

    files_compared = sum(lang_pairs.values())
    files_right = sum(n for (w, h), n in lang_pairs.items() if w == h)
    per_lang = {}
    for lang in sorted({w for w, _ in lang_pairs} | {h for _, h in lang_pairs}):
        tp = lang_pairs.get((lang, lang), 0)
        pred = sum(n for (w, h), n in lang_pairs.items() if h == lang)
        real = sum(n for (w, h), n in lang_pairs.items() if w == lang)
        per_lang[lang or "(none)"] = {"files": real, "precision": ratio(tp, pred),
                                      "recall": ratio(tp, real)}

    # SZZ: links of each judged fix, from the fix mined alone with --szz all.
    szz = {"fixes": len(szz_truth), "tp": 0, "fp": 0, "fn": 0, "mined": 0, "exact": 0,
           "external_with_links": 0, "no_links": 0}
    szz_errors = []
    for s in szz_truth:
        path = os.path.join(a.work, "szz", s["fix"] + ".jsonl")
        rec = None
        if os.path.exists(path):
            rec = next((r for r in read_jsonl(path) if r["commit"] == s["fix"]), None)
        if rec is None:
            szz_errors.append((s["repo"], s["fix"], "not mined", [], s["bug_introducing"]))
            szz["fn"] += len(s["bug_introducing"])
            continue
        szz["mined"] += 1
        pred = set(rec.get("labels", {}).get("bug_introducing_commits", []))
        want = set(s["bug_introducing"])
        szz["tp"] += len(pred & want)
        szz["fp"] += len(pred - want)
        szz["fn"] += len(want - pred)
        szz["exact"] += pred == want
        szz["no_links"] += not pred
        if s.get("external") and pred:
            szz["external_with_links"] += 1
        if pred != want:
            szz_errors.append((s["repo"], s["fix"], s.get("why", ""), sorted(pred), sorted(want)))
    szz["precision"] = ratio(szz["tp"], szz["tp"] + szz["fp"])
    szz["recall"] = ratio(szz["tp"], szz["tp"] + szz["fn"])

    # Licenses: the license of any record of the repository's run.
    lic = {"repos": len(lic_truth), "exact": 0, "missing": 0, "wrong_unflagged": 0}
    lic_errors = []
    for l in lic_truth:
        got, unsure = None, False
        path = os.path.join(a.work, l["repo"] + ".jsonl")
        if os.path.exists(path):
            for rec in read_jsonl(path):
                got = rec.get("license", "")
                unsure = bool(rec.get("license_unsure", False))
                break
        if got is None:
            lic["missing"] += 1
            lic_errors.append((l["repo"], l["license"], "(not mined)"))
        elif norm_license(got) == norm_license(l["license"]):
            lic["exact"] += 1
        else:
            lic["wrong_unflagged"] += not unsure
            lic_errors.append((l["repo"], l["license"],
                               (got or "(none)") + (" (flagged unsure)" if unsure else "")))

    out = sys.stdout
    print(f"Evaluation set: {len(truth)} commits in {len({t['repo'] for t in truth})} "
          f"repositories; {len(truth) - len(not_mined)} found in the mined records", file=out)
    print("", file=out)
    print(f"{'label':<22} {'n':>5} {'TP':>5} {'FP':>5} {'FN':>5} {'TN':>5} "
          f"{'prec':>6} {'recall':>6} {'acc':>6}", file=out)
    summary = {"commits": len(truth), "not_mined": len(not_mined)}
    for k, b in labels.items():
        f = b.figures()
        summary[k] = f
        print(f"{k:<22} {f['n']:>5} {f['tp']:>5} {f['fp']:>5} {f['fn']:>5} {f['tn']:>5} "
              f"{fmt(f['precision']):>6} {fmt(f['recall']):>6} {fmt(f['accuracy']):>6}", file=out)
        if k == "is_fix":
            g = fix_no_release.figures()
            summary["is_fix_without_releases"] = g
            print(f"{'  without releases':<22} {g['n']:>5} {g['tp']:>5} {g['fp']:>5} "
                  f"{g['fn']:>5} {g['tn']:>5} {fmt(g['precision']):>6} {fmt(g['recall']):>6} "
                  f"{fmt(g['accuracy']):>6}", file=out)
    lang_acc = ratio(files_right, files_compared)
    print(f"{'language per file':<22} {files_compared:>5} {'':>23} accuracy {fmt(lang_acc)}",
          file=out)
    n_msg = sum(msg_lang.values())
    msg_acc = ratio(msg_lang["right"], n_msg)
    print(f"{'message language':<22} {n_msg:>5} {'':>23} accuracy {fmt(msg_acc)} "
          f"({msg_lang['none']} undetected, {msg_lang['wrong']} wrong)", file=out)
    print(f"{'SZZ links':<22} {szz['fixes']:>5} {szz['tp']:>5} {szz['fp']:>5} {szz['fn']:>5} "
          f"{'':>5} {fmt(szz['precision']):>6} {fmt(szz['recall']):>6}", file=out)
    print(f"{'license (exact SPDX)':<22} {lic['repos']:>5} {'':>23} exact {lic['exact']} of "
          f"{lic['repos']} ({lic['wrong_unflagged']} wrong without license_unsure)", file=out)
    summary.update({"language_per_file": {"files": files_compared, "right": files_right,
                                          "accuracy": lang_acc,
                                          "files_not_in_records": len(files_unmatched),
                                          "per_language": per_lang},
                    "message_language": {"n": n_msg, "right": msg_lang["right"],
                                         "undetected": msg_lang["none"],
                                         "wrong": msg_lang["wrong"], "accuracy": msg_acc},
                    "szz": szz, "license": lic})

    def section(title):
        print(f"\n== {title}", file=out)

    for k, b in labels.items():
        if not b.errors:
            continue
        section(f"{k}: {b.fp} false positives, {b.fn} false negatives")
        for kind, repo, commit, subject, why in b.errors[:a.show]:
            print(f"  {kind} {repo} {commit[:12]} {subject[:60]!r} -- truth: {why}", file=out)
        if len(b.errors) > a.show:
            print(f"  ... {len(b.errors) - a.show} more (--show N)", file=out)
    wrong = sorted(((n, p) for p, n in lang_pairs.items() if p[0] != p[1]), reverse=True)
    if wrong:
        section("language per file: confusions (truth -> fixmine: files, e.g.)")
        for n, (w, h) in wrong[:a.show]:
            print(f"  {w or '(none)'} -> {h or '(none)'}: {n}, e.g. {lang_example[(w, h)]}",
                  file=out)
        if len(wrong) > a.show:
            print(f"  ... {len(wrong) - a.show} more pairs", file=out)
    if files_unmatched:
        section(f"files labelled but absent from fixmine's record: {len(files_unmatched)}")
        for repo, commit, path in files_unmatched[:a.show]:
            print(f"  {repo} {commit[:12]} {path}", file=out)
    if msg_errors:
        section("message language: misses (truth -> fixmine)")
        for repo, commit, subject, w, h in msg_errors[:a.show]:
            print(f"  {repo} {commit[:12]} {subject[:50]!r}: {w} -> {h}", file=out)
        if len(msg_errors) > a.show:
            print(f"  ... {len(msg_errors) - a.show} more", file=out)
    if szz_errors:
        section(f"SZZ: {len(szz_errors)} fixes whose links differ (fixmine vs truth); "
                f"{szz['external_with_links']} external-cause fixes got links")
        for repo, fix, why, pred, want in szz_errors[:a.show]:
            p = " ".join(c[:10] for c in pred) or "-"
            w = " ".join(c[:10] for c in want) or "- (external)"
            print(f"  {repo} {fix[:12]}: fixmine {p} | truth {w}  ({why})", file=out)
        if len(szz_errors) > a.show:
            print(f"  ... {len(szz_errors) - a.show} more", file=out)
    if lic_errors:
        section("license: mismatches (truth -> fixmine)")
        for repo, want, got in lic_errors:
            print(f"  {repo}: {want} -> {got}", file=out)
    if not_mined:
        section(f"commits not found in the mined records: {len(not_mined)}")
        for repo, commit in not_mined[:a.show]:
            print(f"  {repo} {commit}", file=out)
    section("by repository: is_fix precision / recall, language per file accuracy")
    by_repo = {}
    for repo in sorted(fix_by_repo):
        f = fix_by_repo[repo].figures()
        right, n = lang_by_repo[repo]
        by_repo[repo] = {"is_fix": f, "language_accuracy": ratio(right, n)}
        print(f"  {repo:<14} is_fix {fmt(f['precision'])} / {fmt(f['recall'])} "
              f"({f['tp'] + f['fn']} fixes)  language {fmt(ratio(right, n))} ({n} files)",
              file=out)
    summary["by_repository"] = by_repo
    if a.json_out:
        with open(a.json_out, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
