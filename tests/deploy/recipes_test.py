"""Runs every shell block of docs/recipes.md against the real fixmined and CLI on loopback, on a
git repository generated here, and checks that each exits 0 and writes the records it promises.

Run by ctest as `docs_recipes` (tests/deploy/CMakeLists.txt sets FIXMINED, FIXMINE_CLI and
FIXMINE_SRC). Each recipe runs in `bash -e` with a fresh FIXMINE_DATA; the server it starts in the
background is stopped (its process group) after the checks. Standard library plus zstandard
(python3-zstandard) to read the exported shards.
"""

import doctest
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import zstandard

FIXMINED = os.environ["FIXMINED"]
FIXMINE_CLI = os.environ["FIXMINE_CLI"]
FIXMINE_SRC = os.environ["FIXMINE_SRC"]
RECIPES = os.path.join(FIXMINE_SRC, "docs", "recipes.md")
BENCH_PACK = os.path.join(FIXMINE_SRC, "deploy", "bench-pack")
RECIPE_TIMEOUT_S = 180

GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.com",
               GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com")
for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
    GIT_ENV.pop(var, None)

# Subjects of the generated history, named by what the checks need of them.
PY_FIX_2023 = "Fix off-by-one in last_word"
PY_FIX_2024 = "Fix crash on empty input in split_words"
PY_FIX_AGAIN = "Fix crash on empty input in split_words once more"  # same patch: duplicate
PY_CONTAMINATED = "Fix run-length helper that counted wrong"  # pastes a toy benchmark item
GO_FIX_2024 = "Fix exit code of the Go tool"
STEP_ADD = "Add parse_pairs helper"
STEP_FIX = "Fix parse_pairs on a trailing comma"
MERGE_TITLE = "Parse key=value pairs"


def git(repo, *args, when=None):
    env = GIT_ENV
    if when is not None:
        t = "%d +0000" % when
        env = dict(GIT_ENV, GIT_AUTHOR_DATE=t, GIT_COMMITTER_DATE=t)
    subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, env=env)


def day(text):
    """Seconds since the epoch at noon UTC of YYYY-MM-DD."""
    return int(time.mktime(time.strptime(text + " 12", "%Y-%m-%d %H"))) - time.timezone


def write(repo, path, text):
    full = os.path.join(repo, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def toy_item_text(task_id):
    with open(os.path.join(BENCH_PACK, "fixmine-toy.jsonl")) as f:
        for line in f:
            item = json.loads(line)
            if item["task_id"] == task_id:
                return item["text"]
    raise KeyError(task_id)


STRUTIL = '''"""String helpers."""


def split_words(text):
    parts = text.split()
    return [p.strip(".,") for p in parts]


def last_word(text):
    words = split_words(text)
    return words[len(words)]
'''


def make_repo(repo):
    """A small history: Python and Go fixes before and after 2024, an exact duplicate (a fix
    reverted and made again), a commit pasting a toy benchmark item, and a merged pull request
    of two steps (one a fix)."""
    git(repo, "init", "-q", "-b", "main")

    def commit(subject, when, body=None):
        git(repo, "add", "-A")
        args = ["commit", "-q", "-m", subject] + (["-m", body] if body else [])
        git(repo, *args, when=when)

    write(repo, "src/strutil.py", STRUTIL)
    write(repo, "tests/test_strutil.py", "from src.strutil import last_word\n\n\n"
          "def test_last_word():\n    assert last_word(\"a b\") == \"b\"\n")
    commit("Add string helpers", day("2023-03-01"))
    write(repo, "tool/main.go", "package main\n\nimport \"os\"\n\nfunc main() {\n"
          "\tif len(os.Args) < 2 {\n\t\tos.Exit(0)\n\t}\n}\n")
    commit("Add the Go command-line tool", day("2023-05-01"))
    write(repo, "src/strutil.py", STRUTIL.replace("words[len(words)]", "words[len(words) - 1]"))
    commit(PY_FIX_2023, day("2023-07-01"), "last_word indexed one past the end. Fixes #3.")
    fixed = STRUTIL.replace("words[len(words)]", "words[len(words) - 1]")
    guarded = fixed.replace("    parts = text.split()\n",
                            "    if text is None or not text.strip():\n        return []\n"
                            "    parts = text.split()\n")
    write(repo, "src/strutil.py", guarded)
    commit(PY_FIX_2024, day("2024-02-01"), "split_words(None) raised. Fixes #5.")
    write(repo, "src/strutil.py", fixed)
    commit('Revert "%s"' % PY_FIX_2024, day("2024-02-10"), "It broke the release build.")
    write(repo, "src/strutil.py", guarded)
    commit(PY_FIX_AGAIN, day("2024-02-20"), "The release build is fixed now. Fixes #5.")
    write(repo, "src/strutil.py", guarded + "\n\n" + toy_item_text("fixmine-toy/6"))
    commit(PY_CONTAMINATED, day("2024-03-01"), "Runs longer than nine were cut. Fixes #8.")
    write(repo, "tool/main.go", "package main\n\nimport \"os\"\n\nfunc main() {\n"
          "\tif len(os.Args) < 2 {\n\t\tos.Exit(2)\n\t}\n}\n")
    commit(GO_FIX_2024, day("2024-03-05"), "A missing argument is a usage error. Fixes #9.")
    git(repo, "checkout", "-q", "-b", "parse-pairs")
    pairs = ('\n\ndef parse_pairs(text):\n    out = {}\n    for item in text.split(","):\n'
             '        key, value = item.split("=")\n        out[key] = value\n    return out\n')
    write(repo, "src/pairs.py", '"""key=value pairs."""' + pairs)
    commit(STEP_ADD, day("2024-04-01"))
    write(repo, "src/pairs.py", '"""key=value pairs."""' + pairs.replace(
        '    for item in text.split(","):\n',
        '    for item in text.split(","):\n        if not item:\n            continue\n'))
    commit(STEP_FIX, day("2024-04-02"), "A trailing comma raised ValueError. Fixes #11.")
    git(repo, "checkout", "-q", "main")
    write(repo, "README.md", "# strutil\n\nString helpers and a tool.\n")
    commit("Describe the project in a README", day("2024-04-03"))
    git(repo, "merge", "-q", "--no-ff", "parse-pairs", "-m",
        "Merge pull request #12 from dev/parse-pairs", "-m", MERGE_TITLE, when=day("2024-04-05"))
    for i in range(6):
        write(repo, "docs/notes%d.md" % i, "Note %d about the helpers.\n" % i)
        commit("Document helper note %d" % i, day("2024-05-%02d" % (i + 1)))


def recipes():
    """[(heading, shell text)]: the first ```sh block under each ## heading that has one."""
    with open(RECIPES) as f:
        text = f.read()
    out = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        heading = section.splitlines()[0].strip()
        m = re.search(r"^```sh\n(.*?)^```", section, re.S | re.M)
        if m:
            out.append((heading, m.group(1)))
    return out


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_export(folder):
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    rows = []
    for name in manifest["data_files"]["train"]:
        with open(os.path.join(folder, name), "rb") as f:
            text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), "utf-8")
            rows += [json.loads(line) for line in text if line.strip()]
    return manifest, rows


class Run:
    """One recipe's run: its data folder, output, and the server it left running."""

    def __init__(self, data, stdout, stderr):
        self.data = data
        self.stdout = stdout
        self.stderr = stderr
        with open(os.path.join(data, "port")) as f:
            self.server = "127.0.0.1:" + f.read().strip()

    def cli(self, *args):
        out = subprocess.run([FIXMINE_CLI, "--server", self.server, *args], capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError("fixmine %s: %s" % (" ".join(args), out.stderr))
        return out.stdout

    def records(self, *args):
        return [json.loads(line) for line in self.cli("records", "stream", *args).splitlines()]


def subjects_in_chat(rows):
    return {row["messages"][1]["content"].split("\n")[0] for row in rows}


class RecipesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fixmine-recipes-")
        cls.repo = os.path.join(cls.tmp, "repo")
        os.makedirs(cls.repo)
        make_repo(cls.repo)
        cls.path = os.pathsep.join([os.path.dirname(FIXMINED), os.path.dirname(FIXMINE_CLI),
                                    os.environ.get("PATH", "/usr/bin:/bin")])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_recipe(self, heading):
        """Runs the recipe's block; returns a Run while its server still runs (stopped at the
        end of the test)."""
        block = dict(recipes())[heading]
        data = os.path.join(self.tmp, re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIXMINE_")}
        env.update(PATH=self.path, REPO=self.repo, FIXMINE_DATA=data, FIXMINE_SRC=FIXMINE_SRC,
                   HOME=self.tmp)
        out_path = data + ".stdout"
        err_path = data + ".stderr"
        with open(out_path, "w") as out, open(err_path, "w") as err:
            # A new session: the recipe's background fixmined is in this process group, which
            # is stopped after the checks.
            proc = subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", block], stdout=out,
                                    stderr=err, env=env, start_new_session=True)
        self.addCleanup(self.stop_group, proc)
        try:
            rc = proc.wait(RECIPE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            rc = "timed out after %d s" % RECIPE_TIMEOUT_S
        with open(out_path) as f:
            stdout = f.read()
        with open(err_path) as f:
            stderr = f.read()
        self.assertEqual(rc, 0, "recipe %r failed; stderr:\n%s" % (heading, stderr[-3000:]))
        return Run(data, stdout, stderr)

    @staticmethod
    def stop_group(proc):
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait(10)

    def test_every_recipe_has_a_check(self):
        names = [h for h, _ in recipes()]
        checked = {name[len("test_recipe_"):] for name in dir(self)
                   if name.startswith("test_recipe_")}
        self.assertEqual(len(names), len(checked), names)
        for heading in names:
            self.assertIn(RECIPE_TESTS.get(heading), checked, heading)

    def test_bench_pack_is_generated_from_its_problems(self):
        out = subprocess.run(["python3", os.path.join(FIXMINE_SRC, "tools", "bench_items.py"),
                              os.path.join(BENCH_PACK, "toy-problems.jsonl")],
                             capture_output=True, text=True, check=True)
        with open(os.path.join(BENCH_PACK, "fixmine-toy.jsonl")) as f:
            self.assertEqual(out.stdout, f.read())
        items = [json.loads(line) for line in out.stdout.splitlines()]
        self.assertGreaterEqual(len(items), 5)
        self.assertEqual(len({i["task_id"] for i in items}), len(items))
        runner = doctest.DocTestRunner(verbose=False)
        for item in items:  # each is a whole function whose docstring examples pass
            ns = {}
            exec(compile(item["text"], item["task_id"], "exec"), ns)
            fn = next(v for k, v in ns.items() if callable(v) and not k.startswith("__"))
            for test in doctest.DocTestFinder().find(fn, item["task_id"], globs=ns):
                runner.run(test, out=lambda text: None)
        self.assertGreaterEqual(runner.tries, len(items))
        self.assertEqual(runner.failures, 0)

    def test_bench_items_reads_mbpp_shape_and_names_a_bad_line(self):
        src = os.path.join(self.tmp, "mbpp-like.jsonl")
        with open(src, "w") as f:
            f.write(json.dumps({"task_id": 7, "code": "def f(x):\n    return x + 1\n"}) + "\n\n")
            f.write(json.dumps({"text": "no known field"}) + "\n")
        tool = os.path.join(FIXMINE_SRC, "tools", "bench_items.py")
        bad = subprocess.run(["python3", tool, "--prefix", "mbpp/", src], capture_output=True,
                             text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("mbpp-like.jsonl:3", bad.stderr)
        with open(src, "w") as f:
            f.write(json.dumps({"task_id": 7, "code": "def f(x):\n    return x + 1\n"}) + "\n")
        good = subprocess.run(["python3", tool, "--prefix", "mbpp/", src], capture_output=True,
                              text=True, check=True)
        self.assertEqual(json.loads(good.stdout),
                         {"task_id": "mbpp/7", "text": "def f(x):\n    return x + 1\n"})

    def test_recipe_fix_chat_shards(self):
        run = self.run_recipe("Fix commits as chat, deduplicated and decontaminated, in shards")
        manifest, rows = read_export(os.path.join(run.data, "fixes-chat"))
        self.assertEqual(manifest["format"], "chat")
        self.assertEqual(manifest["total_records"], len(rows))
        self.assertIn('"total_records"', run.stdout)  # the manifest was printed
        self.assertTrue(all([m["role"] for m in r["messages"]] == ["system", "user", "assistant"]
                            for r in rows))
        subjects = subjects_in_chat(rows)
        # Fixes are in; of the two commits with the same patch, the canonical one is kept
        # and the other (its duplicate_of set) is not; the commit that pastes a benchmark item
        # is left out; non-fixes are out.
        self.assertTrue({PY_FIX_2023, GO_FIX_2024, STEP_FIX} <= subjects, subjects)
        self.assertEqual(len({PY_FIX_2024, PY_FIX_AGAIN} & subjects), 1, subjects)
        self.assertNotIn(PY_CONTAMINATED, subjects)
        self.assertNotIn("Add string helpers", subjects)
        # ... and the left-out ones really are in the store, labelled (not vacuous).
        pair = run.records("--include-contaminated", "--filter", 'subject = "%s" OR subject = "%s"'
                           % (PY_FIX_2024, PY_FIX_AGAIN))
        self.assertEqual(len(pair), 2, [r["subject"] for r in pair])
        dup = [r for r in pair if r["subject"] not in subjects]
        kept = [r for r in pair if r["subject"] in subjects]
        self.assertEqual(len(dup), 1)
        self.assertEqual(dup[0].get("duplicate_of"), kept[0]["id"])
        dirty = run.records("--include-contaminated", "--filter", "contaminated")
        self.assertEqual([r["subject"] for r in dirty], [PY_CONTAMINATED])
        self.assertEqual(dirty[0]["contamination"][0]["benchmark"], "fixmine-toy")
        self.assertEqual(dirty[0]["contamination"][0]["item"], "fixmine-toy/6")
        # The recipe's last line counts what was left out: that one record.
        self.assertEqual(run.stdout.strip().splitlines()[-1], "1")

    def test_recipe_language_since_date(self):
        run = self.run_recipe("Records of one language since a date")
        rows = read_jsonl(os.path.join(run.data, "python-since-2024.jsonl"))
        self.assertEqual(run.stdout.strip().splitlines()[-1], str(len(rows)))
        since = day("2024-01-01") - 12 * 3600
        for r in rows:
            self.assertGreaterEqual(int(r["committer"]["time"]), since, r["subject"])
            self.assertIn("Python", {f.get("language") for f in r["files"]}, r["subject"])
        subjects = {r["subject"] for r in rows}
        self.assertIn(PY_FIX_2024, subjects)
        self.assertIn(STEP_ADD, subjects)
        self.assertNotIn(PY_FIX_2023, subjects)  # Python, but 2023
        self.assertNotIn(GO_FIX_2024, subjects)  # 2024, but Go
        self.assertIn(PY_CONTAMINATED, subjects)  # no benchmark added in this recipe: kept
        self.assertEqual(len(rows), int(run.cli(
            "records", "count", "--filter", 'lang = "Python" committed_at >= 2024-01-01')))

    def test_recipe_reproducible_sample(self):
        run = self.run_recipe("A reproducible sample")
        manifest, rows = read_export(os.path.join(run.data, "sample"))
        counted = int(run.stdout.strip().splitlines()[-1])  # export -q prints nothing
        total = int(run.cli("records", "count"))
        self.assertEqual(manifest["total_records"], counted)
        self.assertEqual(manifest["sample_rate"], 0.5)
        self.assertEqual(manifest["sample_seed"], "7")
        self.assertTrue(0 < counted < total, (counted, total))
        self.assertEqual(len({r["commit"] for r in rows}), counted)  # commitpack: rows per file
        sampled = {r["commit"] for r in run.records("--sample", "0.5", "--seed", "7")}
        self.assertEqual({r["commit"] for r in rows}, sampled)

    def test_recipe_trajectories_chat(self):
        run = self.run_recipe("Pull-request trajectories as chat")
        rows = read_jsonl(os.path.join(run.data, "trajectories-chat.jsonl"))
        self.assertEqual(len(rows), 1, rows)
        t = rows[0]
        self.assertEqual(t["pr_number"], 12)
        self.assertEqual(t["title"], MERGE_TITLE)
        roles = [m["role"] for m in t["messages"]]
        self.assertEqual(roles, ["system", "user", "assistant", "user", "assistant"])
        self.assertEqual(t["messages"][1]["content"].split("\n")[0], STEP_ADD)
        self.assertEqual(t["messages"][3]["content"].split("\n")[0], STEP_FIX)
        self.assertIn("diff --git a/src/pairs.py", t["messages"][4]["content"])

    def test_recipe_own_benchmark(self):
        run = self.run_recipe("Decontaminate against a benchmark you have")
        self.assertIn("mybench", run.stdout)  # bench list
        rows = read_jsonl(os.path.join(run.data, "contaminated.jsonl"))
        self.assertEqual([r["subject"] for r in rows], [PY_CONTAMINATED])
        self.assertEqual(rows[0]["contamination"][0]["benchmark"], "mybench")
        self.assertEqual(rows[0]["contamination"][0]["item"], "mybench/fixmine-toy/6")
        self.assertEqual(int(run.cli("records", "count", "--filter", "contaminated")), 0)


# The docs heading of each recipe -> the suffix of its test_recipe_* method.
RECIPE_TESTS = {
    "Fix commits as chat, deduplicated and decontaminated, in shards": "fix_chat_shards",
    "Records of one language since a date": "language_since_date",
    "A reproducible sample": "reproducible_sample",
    "Pull-request trajectories as chat": "trajectories_chat",
    "Decontaminate against a benchmark you have": "own_benchmark",
}


if __name__ == "__main__":
    unittest.main()
