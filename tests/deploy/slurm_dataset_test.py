"""The sharded run on a real one-node Slurm cluster (docs/scale-out.md, issue "Scale out").

Starts munged, slurmctld and slurmd on this machine (tests/deploy/slurm_cluster.py), submits
the whole pipeline with deploy/slurm/fixmine-dataset.sh over seven generated repositories (a
fork with two more commits, a cherry-picked fix, an earlier copy of a fix, a near-duplicate
change), waits with a bounded loop and checks the dataset against an oracle computed here from
the map shards: one record per exact-duplicate group, the earliest by (author time, id).
Skipped, with the reason, when slurm-wlm or munge is not installed or the test is not root.

Environment: FIXMINE_CLI, FIXMINED (tests/deploy/CMakeLists.txt), FIXMINE_SRC.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import yaml
import zstandard

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slurm_cluster  # noqa: E402

FIXMINE_CLI = os.environ.get("FIXMINE_CLI", "")
FIXMINED = os.environ.get("FIXMINED", "")
FIXMINE_SRC = os.environ.get(
    "FIXMINE_SRC", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DRIVER = os.path.join(FIXMINE_SRC, "deploy", "slurm", "fixmine-dataset.sh")
RUN_TIMEOUT_S = 300

GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.com",
               GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com")
for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
    GIT_ENV.pop(var, None)

DAY = 86400
T0 = 1673352000  # 2023-01-10 12:00 UTC
FRESH_AFTER = "2024-01-01"
FRESH_AFTER_T = 1704067200

UTIL = "".join("def helper_%d(x):\n    return x + %d\n\n" % (i, i) for i in range(8))
UTIL_FIXED = UTIL.replace("return x + 3\n", "return x - 3  # was wrong\n").replace(
    "return x + 5\n", "return max(x, 5)\n")
TABLE = "".join("    (%d, 'entry number %d', %d),\n" % (i, i, i * i) for i in range(30))
TABLE_NEAR = TABLE.replace("'entry number 17'", "'entry number seventeen'")
GO_MAIN = ("package main\n\nimport \"fmt\"\n\nfunc main() {\n\tvar p *int\n"
           "\tfmt.Println(*p)\n}\n")
GO_FIXED = GO_MAIN.replace("\tvar p *int\n\tfmt.Println(*p)\n",
                           "\tv := 1\n\tp := &v\n\tif p != nil {\n\t\tfmt.Println(*p)\n\t}\n")


def git(repo, *args, when=None):
    env = GIT_ENV
    if when is not None:
        t = "%d +0000" % when
        env = dict(GIT_ENV, GIT_AUTHOR_DATE=t, GIT_COMMITTER_DATE=t)
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def commit(repo, files, subject, when):
    for path, text in files.items():
        full = os.path.join(repo, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", subject, when=when)
    return git(repo, "rev-parse", "HEAD")


def make_repos(root):
    """Seven repositories; returns {name: path} and the commits the checks name."""
    r = {n: os.path.join(root, n) for n in
         ("alpha", "alpha-fork", "beta", "gamma", "delta", "epsilon", "zeta")}
    marks = {}
    a = r["alpha"]
    os.makedirs(a)
    git(a, "init", "-q", "-b", "main")
    commit(a, {"src/util.py": UTIL}, "Add util helpers", T0)
    marks["alpha_fix"] = commit(a, {"src/util.py": UTIL_FIXED}, "Fix wrong helpers in util",
                                T0 + DAY)
    marks["table"] = commit(a, {"src/table.py": "TABLE = [\n" + TABLE + "]\n"},
                            "Add the lookup table", T0 + 2 * DAY)
    # A fork: the same history plus two commits (one after the fresh cutoff).
    subprocess.run(["git", "clone", "-q", a, r["alpha-fork"]], check=True, env=GIT_ENV)
    commit(r["alpha-fork"], {"src/fork.py": "FORK = 1\nNAME = 'fork'\n"}, "Add fork marker",
           T0 + 10 * DAY)
    commit(r["alpha-fork"], {"src/fork.py": "FORK = 2\nNAME = 'fork'\n"}, "Bump fork marker",
           FRESH_AFTER_T + 30 * DAY)
    b = r["beta"]
    os.makedirs(b)
    git(b, "init", "-q", "-b", "main")
    commit(b, {"cmd/main.go": GO_MAIN}, "Add the tool", T0 + 3 * DAY)
    marks["beta_fix"] = commit(b, {"cmd/main.go": GO_FIXED}, "Fix nil pointer dereference",
                               T0 + 4 * DAY)
    # gamma cherry-picks beta's fix (git keeps its author time: a tie, broken by the id).
    g = r["gamma"]
    os.makedirs(g)
    git(g, "init", "-q", "-b", "main")
    commit(g, {"README.md": "gamma\n"}, "Start gamma", T0 + 1 * DAY)
    commit(g, {"cmd/main.go": GO_MAIN}, "Vendor the tool", T0 + 5 * DAY)
    git(g, "fetch", "-q", b, "main")
    git(g, "cherry-pick", marks["beta_fix"], when=T0 + 6 * DAY)
    marks["gamma_pick"] = git(g, "rev-parse", "HEAD")
    # delta: a near duplicate of alpha's table (one line of 30 changed), later.
    d = r["delta"]
    os.makedirs(d)
    git(d, "init", "-q", "-b", "main")
    commit(d, {"README.md": "delta\n"}, "Start delta", T0 + 2 * DAY)
    marks["near"] = commit(d, {"lib/table.py": "TABLE = [\n" + TABLE_NEAR + "]\n"},
                           "Add a lookup table", T0 + 8 * DAY)
    # epsilon: alpha's change made earlier than alpha made it: the canonical, though mined later.
    e = r["epsilon"]
    os.makedirs(e)
    git(e, "init", "-q", "-b", "main")
    commit(e, {"src/util.py": UTIL}, "Import util", T0 - 5 * DAY)
    marks["early_fix"] = commit(e, {"src/util.py": UTIL_FIXED}, "Fix helpers", T0 - 4 * DAY)
    z = r["zeta"]
    os.makedirs(z)
    git(z, "init", "-q", "-b", "main")
    commit(z, {"app.js": "const a = 1;\n"}, "Start zeta", T0 + 20 * DAY)
    commit(z, {"app.js": "const a = 2;\n"}, "Fix the constant", FRESH_AFTER_T + 5 * DAY)
    return r, marks


def read_zst_jsonl(path):
    with open(path, "rb") as f:
        data = zstandard.ZstdDecompressor().stream_reader(f).read()
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]


def dataset_records(out):
    """{split: [records]} from the final shards."""
    splits = {}
    for path in sorted(glob.glob(os.path.join(out, "data", "*.jsonl.zst"))):
        split = os.path.basename(path).split("-")[0]
        splits.setdefault(split, []).extend(read_zst_jsonl(path))
    return splits


def map_records(out):
    recs = []
    for path in sorted(glob.glob(os.path.join(out, "map", "train-*.jsonl.zst"))):
        recs.extend(read_zst_jsonl(path))
    return recs


def author_time(r):
    return int(r.get("author", {}).get("time", 0))


def oracle_kept(recs):
    """The canonical rule, computed independently: union by fingerprint and by commit across
    repositories, the smallest (author time, id) of each group kept, then preset `default`."""
    parent = {r["id"]: r["id"] for r in recs}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first = {}
    for r in recs:
        for key in (("f", r.get("patch_fingerprint", "")), ("c", r["commit"])):
            if not key[1]:
                continue
            if key in first:
                ra, rb = find(first[key]), find(r["id"])
                parent[max(ra, rb)] = min(ra, rb)
            else:
                first[key] = r["id"]
    by_id = {r["id"]: r for r in recs}
    groups = {}
    for r in recs:
        groups.setdefault(find(r["id"]), []).append(r)
    canon = {}
    for members in groups.values():
        best = min(members, key=lambda m: (author_time(m), m["id"]))
        for m in members:
            canon[m["id"]] = best["id"]
    kept = set()
    for rid, c in canon.items():
        reasons = by_id[rid].get("quality", {}).get("drop_reasons", [])
        if rid == c and not any(x.startswith("default:") for x in reasons):
            kept.add(rid)
    return kept, canon


@unittest.skipUnless(os.geteuid() == 0, "needs root: slurmd runs jobs and munged a key")
@unittest.skipIf(slurm_cluster.missing_programs(),
                 "Slurm is not installed (missing: %s); install the Debian packages slurm-wlm "
                 "and munge (deploy/install-deps.sh)" % ", ".join(slurm_cluster.missing_programs()))
class SlurmDatasetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(FIXMINE_CLI):
            raise unittest.SkipTest("FIXMINE_CLI is not set to the built fixmine")
        cls.tmp = tempfile.mkdtemp(prefix="fixmine-slurm-")
        cls.repos, cls.marks = make_repos(os.path.join(cls.tmp, "repos"))
        cls.repo_list = os.path.join(cls.tmp, "repos.txt")
        with open(cls.repo_list, "w") as f:
            f.write("".join(p + "\n" for p in cls.repos.values()))
        cls.cluster = slurm_cluster.SlurmCluster(os.path.join(cls.tmp, "slurm"))
        cls.cluster.start()
        try:
            cls.main = cls.submit_and_wait("main-3x4", 3, 4)
        except BaseException:
            cls.cluster.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def submit(cls, name, n, b, extra=(), fixmine=None, wait=False):
        out = os.path.join(cls.tmp, name)
        cmd = [DRIVER, "--repo-list", cls.repo_list, "--out", out, "--map-shards", str(n),
               "--partitions", str(b), "--fixmine", fixmine or FIXMINE_CLI, "--retries", "2"]
        if wait:
            cmd.append("--wait")
        if extra:
            cmd += ["--", *extra]
        r = subprocess.run(cmd, env=cls.cluster.env, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S if wait else 60)
        if r.returncode != 0:
            raise AssertionError("driver failed: %s %s" % (r.stdout, r.stderr))
        return out, r.stdout

    @classmethod
    def wait(cls, out):
        if not cls.cluster.wait_idle(RUN_TIMEOUT_S):
            raise AssertionError("the Slurm jobs did not finish in %d s" % RUN_TIMEOUT_S)

    @classmethod
    def submit_and_wait(cls, name, n, b, extra=()):
        out, _ = cls.submit(name, n, b, extra)
        cls.wait(out)
        if not os.path.exists(os.path.join(out, "stages", "card.done")):
            logs = "".join(open(p, errors="replace").read()[-2000:]
                           for p in sorted(glob.glob(os.path.join(out, "logs", "*.log"))))
            raise AssertionError("the run did not complete; logs:\n" + logs)
        return out

    def test_kept_records_follow_the_canonical_rule(self):
        recs = map_records(self.main)
        ids = {r["id"] for r in recs}
        self.assertGreaterEqual(len({r["repo"] for r in recs}), 7)
        kept_recs = [r for rs in dataset_records(self.main).values() for r in rs]
        kept = {r["id"] for r in kept_recs}
        self.assertEqual(len(kept), len(kept_recs), "a record is written twice")
        expected, canon = oracle_kept(recs)
        self.assertEqual(kept, expected)
        # No two kept records share a fingerprint or a commit.
        fps = [r["patch_fingerprint"] for r in kept_recs if r.get("patch_fingerprint")]
        self.assertEqual(len(fps), len(set(fps)))
        commits = [r["commit"] for r in kept_recs]
        self.assertEqual(len(commits), len(set(commits)))
        # Every removed duplicate's canonical is present; the removed ones carry no label here.
        removed = [rid for rid in ids if canon[rid] != rid]
        self.assertGreater(len(removed), 5)  # the fork's history, the pick, the early copy
        for rid in removed:
            self.assertIn(canon[rid], kept)
        by_commit = {}
        for r in recs:
            by_commit.setdefault(r["commit"], []).append(r)
        # The earlier copy of alpha's fix (epsilon, mined in another shard) is the one kept.
        early = by_commit[self.marks["early_fix"]][0]
        self.assertIn(early["id"], kept)
        for r in by_commit[self.marks["alpha_fix"]]:
            self.assertNotIn(r["id"], kept)
        # The cherry-pick: one of beta's fix and gamma's pick, the smaller id (same author time).
        pair = by_commit[self.marks["beta_fix"]] + by_commit[self.marks["gamma_pick"]]
        self.assertEqual(len(pair), 2)
        self.assertEqual(author_time(pair[0]), author_time(pair[1]))
        self.assertEqual({r["id"] for r in pair} & kept, {min(r["id"] for r in pair)})
        # The near duplicate is kept, labelled with alpha's earlier table.
        near = [r for r in kept_recs if r["commit"] == self.marks["near"]][0]
        table = [r for r in kept_recs if r["commit"] == self.marks["table"]][0]
        self.assertEqual(near.get("near_duplicate_of"), table["id"])
        self.assertGreaterEqual(near.get("near_duplicate_similarity", 0), 80)
        self.assertNotIn("near_duplicate_of", table)
        self.assertNotIn("minhash", near)

    def test_one_shard_one_partition_gives_the_same_records(self):
        # --wait: the driver itself returns when the last stage has left the queue.
        one, printed = self.submit("one-1x1", 1, 1, wait=True)
        self.assertEqual([line.split()[0] for line in printed.splitlines()],
                         ["map", "signatures", "buckets", "clusters", "filter", "card"])
        self.assertTrue(os.path.exists(os.path.join(one, "stages", "card.done")))
        a = {r["id"]: r for rs in dataset_records(self.main).values() for r in rs}
        b = {r["id"]: r for rs in dataset_records(one).values() for r in rs}
        self.assertEqual(set(a), set(b))
        for rid in a:
            self.assertEqual(a[rid], b[rid], rid)

    def test_card_counts_match_the_shards(self):
        with open(os.path.join(self.main, "README.md")) as f:
            card = f.read()
        self.assertTrue(card.startswith("---\n"))
        header = yaml.safe_load(card.split("---\n")[1])
        with open(os.path.join(self.main, "stats.json")) as f:
            stats = json.load(f)
        files = header["configs"][0]["data_files"]
        counted = {}
        for entry in files:
            paths = sorted(glob.glob(os.path.join(self.main, entry["path"])))
            self.assertTrue(paths, entry)
            counted[entry["split"]] = sum(len(read_zst_jsonl(p)) for p in paths)
        declared = {s["name"]: s["num_examples"] for s in header["dataset_info"]["splits"]}
        self.assertEqual(counted, declared)
        self.assertEqual({k: v for k, v in stats["splits"].items() if v}, counted)
        for path, f in stats["files"].items():
            self.assertEqual(len(read_zst_jsonl(os.path.join(self.main, path))), f["records"])
        self.assertEqual(stats["records"], sum(counted.values()))
        recs = map_records(self.main)
        self.assertEqual(stats["dedup"]["input_records"], len(recs))
        _, canon = oracle_kept(recs)
        self.assertEqual(stats["dedup"]["exact_duplicates_removed"],
                         sum(1 for k, v in canon.items() if k != v))
        # Per-language counts match the records.
        langs = {}
        for r in (r for rs in dataset_records(self.main).values() for r in rs):
            for lang in {f.get("language") or "unknown" for f in r.get("files", [])}:
                langs[lang] = langs.get(lang, 0) + 1
        self.assertEqual({k: sum(v.values()) for k, v in stats["languages"].items()}, langs)
        self.assertIn("fixmine-dataset.sh", card)

    def test_repo_split_and_fresh_split(self):
        out = self.submit_and_wait(
            "split", 3, 4, ["--split", "repo", "--split-fractions", "0.4,0.3,0.3",
                            "--fresh-after", FRESH_AFTER])
        splits = dataset_records(out)
        self.assertIn("fresh", splits)
        for r in splits["fresh"]:
            self.assertGreater(int(r["committer"]["time"]), FRESH_AFTER_T)
        repos = {}
        for name, rs in splits.items():
            if name == "fresh":
                continue
            for r in rs:
                self.assertLessEqual(int(r["committer"]["time"]), FRESH_AFTER_T)
                repos.setdefault(r["repo"], set()).add(name)
        self.assertGreaterEqual(len({s for ss in repos.values() for s in ss}), 2)
        for repo, names in repos.items():
            self.assertEqual(len(names), 1, "repository %s in splits %s" % (repo, names))
        # A near duplicate is in its canonical's split, or left out.
        where = {r["id"]: name for name, rs in splits.items() for r in rs}
        for name, rs in splits.items():
            for r in rs:
                if r.get("near_duplicate_of"):
                    self.assertEqual(where.get(r["near_duplicate_of"]), name)
        # The same records as without splits, less the near duplicates left out across splits.
        with open(os.path.join(out, "stats.json")) as f:
            stats = json.load(f)
        main_ids = {r["id"] for rs in dataset_records(self.main).values() for r in rs}
        self.assertEqual(len(where) + stats["dedup"]["near_duplicates_dropped_across_splits"],
                         len(main_ids))
        self.assertLessEqual(set(where), main_ids)

    def test_killed_task_resubmitted_gives_the_same_output(self):
        # A fixmine that hangs in filter task 1 while the flag file exists, so that the task is
        # killed mid-run.
        flag = os.path.join(self.tmp, "hang-filter-1")
        started = os.path.join(self.tmp, "filter-1-started")
        wrapper = os.path.join(self.tmp, "fixmine-hang")
        with open(wrapper, "w") as f:
            f.write('#!/bin/bash\nif [[ -e %s && "$*" == *"dataset filter"*"--shard-index 1"* ]];'
                    ' then touch %s; exec sleep 600; fi\nexec %s "$@"\n'
                    % (flag, started, FIXMINE_CLI))
        os.chmod(wrapper, 0o755)
        open(flag, "w").close()
        out, printed = self.submit("killed", 3, 4, fixmine=wrapper)
        deadline = time.time() + RUN_TIMEOUT_S
        while not os.path.exists(started) and time.time() < deadline:
            time.sleep(0.5)
        self.assertTrue(os.path.exists(started), "filter task 1 never started")
        filter_job = [line.split()[1] for line in printed.splitlines()
                      if line.startswith("filter ")][0]
        subprocess.run(["scancel", "%s_1" % filter_job], env=self.cluster.env, check=True)
        self.wait(out)
        self.assertFalse(os.path.exists(os.path.join(out, "stages", "card.done")))
        self.assertFalse(os.path.exists(os.path.join(out, "stages", "filter", "1-of-3.done")))
        self.assertTrue(os.path.exists(os.path.join(out, "stages", "filter", "0-of-3.done")))
        os.remove(flag)
        _, again = self.submit("killed", 3, 4, fixmine=wrapper)
        stages = [line.split()[0] for line in again.splitlines()]
        self.assertEqual(stages, ["filter", "card"])  # only what was unfinished
        self.assertEqual(again.splitlines()[0].split()[2], "1")
        self.wait(out)
        self.assertTrue(os.path.exists(os.path.join(out, "stages", "card.done")))
        for path in sorted(glob.glob(os.path.join(self.main, "data", "*.jsonl.zst"))):
            other = os.path.join(out, "data", os.path.basename(path))
            self.assertEqual(read_zst_jsonl(path), read_zst_jsonl(other), path)
        with open(os.path.join(self.main, "stats.json")) as f:
            a = json.load(f)
        with open(os.path.join(out, "stats.json")) as f:
            b = json.load(f)
        a.pop("command")
        b.pop("command")
        self.assertEqual(a, b)
        _, nothing = self.submit("killed", 3, 4, fixmine=wrapper)
        self.assertEqual(nothing.strip(), "all tasks complete")

    def test_driver_refuses_bad_arguments(self):
        base = [DRIVER, "--repo-list", self.repo_list, "--out", os.path.join(self.tmp, "bad"),
                "--map-shards", "2", "--partitions", "2"]
        for extra, message in ((["--", "--split", "repo", "--bogus", "1"], "unknown stage flag"),
                               (["--retries", "0"], "--retries must be 1 or more")):
            r = subprocess.run(base + extra, env=self.cluster.env, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(message, r.stderr)
        r = subprocess.run([DRIVER, "--out", "x"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--repo-list is required", r.stderr)
        # Nothing was submitted.
        q = subprocess.run(["squeue", "-h"], env=self.cluster.env, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(q.stdout.strip(), "")

    def served_ids(self, names):
        """{id: (near_duplicate_of, similarity)} of what fixmined streams with --preset default
        after mining `names` in that order."""
        store = tempfile.mkdtemp(dir=self.tmp, prefix="store-")
        port_file = os.path.join(store, "port")
        with open(os.path.join(store, "fixmined.log"), "w") as log:
            proc = subprocess.Popen(
                [FIXMINED, "--data-dir", os.path.join(store, "db"), "--allowed-root",
                 os.path.join(self.tmp, "repos"), "--listen", "127.0.0.1:0", "--port-file",
                 port_file], stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.time() + 30
            while time.time() < deadline and not (
                    os.path.exists(port_file) and os.path.getsize(port_file) > 0):
                time.sleep(0.1)
            with open(port_file) as f:
                server = "127.0.0.1:" + f.read().strip()

            def cli(*args):
                r = subprocess.run([FIXMINE_CLI, "--server", server, *args], capture_output=True,
                                   text=True, timeout=120)
                self.assertEqual(r.returncode, 0, "fixmine %s: %s" % (args, r.stderr))
                return r.stdout

            for name in names:
                cli("repo", "add", self.repos[name])
                cli("mine", name, "--wait")
            out = cli("records", "stream", "--preset", "default")
            records = [json.loads(line) for line in out.splitlines() if line]
            return {r["id"]: (r.get("near_duplicate_of", ""),
                              r.get("near_duplicate_similarity", 0)) for r in records}
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    def test_kept_set_equals_what_fixmined_serves_in_any_order(self):
        if not os.path.exists(FIXMINED):
            self.skipTest("FIXMINED is not set to the built fixmined")
        # The same records and the same near-duplicate labels (canonical and similarity).
        kept = {r["id"]: (r.get("near_duplicate_of", ""), r.get("near_duplicate_similarity", 0))
                for rs in dataset_records(self.main).values() for r in rs}
        self.assertTrue(any(near for near, _ in kept.values()))
        names = list(self.repos)
        self.assertEqual(self.served_ids(names), kept)
        self.assertEqual(self.served_ids(list(reversed(names))), kept)


if __name__ == "__main__":
    unittest.main()
