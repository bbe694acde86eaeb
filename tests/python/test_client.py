"""The Python client (client/python/fixmine_client) against a real fixmined on loopback.

Run by ctest (tests/python/CMakeLists.txt sets PYTHONPATH, FIXMINED, FIXMINE_CLI and
FIXMINE_README). Builds its own git repository with the git CLI.
"""

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

from fixmine_client import Client, FORMATS, Page

FIXMINED = os.environ["FIXMINED"]
FIXMINE_CLI = os.environ["FIXMINE_CLI"]
FIXMINE_SRC = os.environ.get("FIXMINE_SRC") or os.path.dirname(os.environ["FIXMINE_README"])
GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@example.com")

N_COMMITS = 24


def git(repo, *args, env=None):
    subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, env=env or GIT_ENV)


def make_repo(path):
    """24 commits; every file is ~300 KB so a 1 MiB stream batch holds only a few records."""
    git(path, "init", "-q", "-b", "main")
    filler = "".join("filler line %d\n" % i for i in range(20000))
    for i in range(N_COMMITS):
        name = "tests/test_m.py" if i % 4 == 0 else "src/m%d.py" % (i % 3)
        with open(os.path.join(path, "src" if "src" in name else "tests", os.path.basename(name)),
                  "w") as f:
            f.write("VALUE = %d\n" % i + filler)
        git(path, "add", "-A")
        t = "%d +0000" % (1700000000 + 3600 * i)
        env = dict(GIT_ENV, GIT_AUTHOR_DATE=t, GIT_COMMITTER_DATE=t)
        git(path, "commit", "-q", "-m", "change %d" % i, env=env)


class Server:
    """fixmined on 127.0.0.1 (port 0 the first time, the same port after a restart)."""

    def __init__(self, root, allowed):
        self.root = root
        self.allowed = allowed
        self.port = 0
        self.proc = None

    def start(self):
        port_file = os.path.join(self.root, "port")
        if os.path.exists(port_file):
            os.remove(port_file)
        self.log = open(os.path.join(self.root, "fixmined.log"), "ab")
        self.proc = subprocess.Popen(
            [FIXMINED, "--listen", "127.0.0.1:%d" % self.port, "--port-file", port_file,
             "--data-dir", os.path.join(self.root, "data"), "--allowed-root", self.allowed],
            stdout=self.log, stderr=self.log)
        # Bounded generously (a sanitizer build on a loaded machine); ends at the port.
        deadline = time.time() + 60
        while time.time() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("fixmined did not start; see " + self.log.name)

    def stop(self):
        if self.log.closed:
            return
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def cli(self, *args):
        out = subprocess.run([FIXMINE_CLI, "--server", self.address, *args], capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise RuntimeError("fixmine %s: %s" % (" ".join(args), out.stderr))
        return out.stdout


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fixmine-py-")
        cls.repo = os.path.join(cls.tmp, "repo")
        os.makedirs(os.path.join(cls.repo, "src"))
        os.makedirs(os.path.join(cls.repo, "tests"))
        make_repo(cls.repo)
        cls.server = Server(cls.tmp, cls.repo)
        cls.server.start()
        cls.server.cli("repo", "add", cls.repo, "--name", "demo")
        cls.server.cli("mine", "demo", "--wait")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.client = Client(self.server.address, backoff=0.1)

    def tearDown(self):
        self.client.close()

    def test_stream_yields_dicts_and_tracks_the_token(self):
        rows = list(self.client.stream())
        self.assertEqual(len(rows), N_COMMITS)
        self.assertEqual(self.client.count(), N_COMMITS)
        self.assertEqual(len({r["id"] for r in rows}), N_COMMITS)
        self.assertEqual(rows[0]["repo"], "demo")
        # Stop after 5 records, continue elsewhere with the token: the same records, in order.
        first = self.client.stream(limit=5)
        head = list(first)
        self.assertEqual(len(head), 5)
        rest = list(self.client.stream(resume_token=first.resume_token))
        self.assertEqual([r["id"] for r in head + rest], [r["id"] for r in rows])

    def test_formats(self):
        for fmt in FORMATS:
            rows = list(self.client.stream(format=fmt, limit=3))
            self.assertGreaterEqual(len(rows), 3, fmt)
        chat = next(iter(self.client.stream(format="chat")))
        self.assertEqual([m["role"] for m in chat["messages"]], ["system", "user", "assistant"])
        swe = list(self.client.stream(format="swe"))
        self.assertEqual(sum(1 for r in swe if r["test_patch"]), N_COMMITS // 4)
        with self.assertRaises(ValueError):
            self.client.stream(format="alpaca")
        with self.assertRaises(ValueError):
            self.client.stream(sample=0)

    def test_sample_is_a_stable_subset(self):
        small = [r["id"] for r in self.client.stream(sample=0.25, seed=5)]
        again = [r["id"] for r in self.client.stream(sample=0.25, seed=5)]
        large = {r["id"] for r in self.client.stream(sample=0.75, seed=5)}
        self.assertEqual(small, again)
        self.assertTrue(set(small) <= large)
        self.assertEqual(self.client.count(sample=0.25, seed=5), len(small))

    def test_read_session_three_streams_cover_everything_once(self):
        session = self.client.read_session(streams=3)
        self.assertEqual(len(session.streams), 3)
        seen = []
        for i in range(3):
            seen += [r["id"] for r in session.read(i)]
        self.assertEqual(len(seen), N_COMMITS)
        self.assertEqual(len(set(seen)), N_COMMITS)
        with self.assertRaises(grpc.RpcError) as ctx:
            list(self.client.read_stream("rs1.garbage"))
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_export_shards_read_back_with_json_and_zstd(self):
        import zstandard
        out = os.path.join(self.tmp, "export")
        self.server.cli("records", "export", "--format", "datatrove", "--shard-records", "10",
                        "--out", out, "-q", "--filter", 'path:"src/**"')
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        rows = []
        for name in manifest["data_files"]["train"]:
            with open(os.path.join(out, name), "rb") as f:
                text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), "utf-8")
                rows += [json.loads(line) for line in text]
        expected = self.client.count(filter='path:"src/**"')
        self.assertEqual(len(rows), expected)
        self.assertEqual(manifest["total_records"], expected)
        self.assertEqual(len(manifest["data_files"]["train"]), -(-expected // 10))
        self.assertEqual({r["id"] for r in rows}, {r["id"] for r in self.client.stream(
            filter='path:"src/**"')})

    def test_to_dataset_says_what_to_install(self):
        try:
            import datasets  # noqa: F401
        except ImportError:
            with self.assertRaisesRegex(ImportError, "pip install datasets"):
                self.client.to_dataset()
        else:
            self.assertEqual(len(self.client.to_dataset()), N_COMMITS)

    def test_readme_example_runs(self):
        with open(os.environ["FIXMINE_README"]) as f:
            readme = f.read()
        m = re.search(r"```python\n(.*?)```", readme, re.S)
        self.assertIsNotNone(m, "README has no python example")
        code = m.group(1).replace("127.0.0.1:50051", self.server.address)
        self.assertLessEqual(len(code.strip().splitlines()), 5)
        exec(compile(code, "README.md", "exec"), {})

    def test_stream_survives_a_server_restart(self):
        # Its own server (same data, copied), so restarting it affects no other test.
        root = tempfile.mkdtemp(prefix="fixmine-py-restart-", dir=self.tmp)
        server = Server(root, self.repo)
        server.start()
        self.addCleanup(server.stop)
        server.cli("repo", "add", self.repo, "--name", "demo")
        server.cli("mine", "demo", "--wait")
        client = Client(server.address, backoff=0.1)
        self.addCleanup(client.close)
        want = [r["id"] for r in client.stream()]
        self.assertEqual(len(want), N_COMMITS)
        stream = client.stream()
        got = []
        restarted = False
        for row in stream:
            got.append(row["id"])
            if not restarted and stream.resume_token:  # past the first batch: restart now
                server.stop()
                server.start()
                restarted = True
        self.assertTrue(restarted, "the stream came in one batch; make records larger")
        self.assertEqual(got, want)  # nothing twice, nothing skipped, same order

def make_curation_repo(path):
    """A fix, a bot commit (the default preset drops it), a commit pasting a toy benchmark item
    (deploy/bench-pack), and a merged pull request #4 of two steps, one a fix."""
    git(path, "init", "-q", "-b", "main")
    when = [1704067200]  # 2024-01-01

    def commit(subject, body=None, env=None):
        when[0] += 3600
        t = "%d +0000" % when[0]
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", subject, *(["-m", body] if body else []),
            env=dict(env or GIT_ENV, GIT_AUTHOR_DATE=t, GIT_COMMITTER_DATE=t))

    def write(name, text):
        os.makedirs(os.path.dirname(os.path.join(path, name)), exist_ok=True)
        with open(os.path.join(path, name), "w") as f:
            f.write(text)

    write("src/calc.py", "def half(n):\n    return n / 2\n")
    commit("Add the calculator module")
    write("src/calc.py", "def half(n):\n    return n // 2\n")
    commit("Fix half() returning a float", "Fixes #2.")
    write("requirements.txt", "requests==2.32.0\n")
    commit("Update dependency requests to v2.32.0",
           env=dict(GIT_ENV, GIT_AUTHOR_NAME="renovate[bot]",
                    GIT_AUTHOR_EMAIL="bot@renovateapp.com"))
    with open(os.path.join(FIXMINE_SRC, "deploy", "bench-pack", "fixmine-toy.jsonl")) as f:
        item = json.loads(f.readline())
    write("src/words.py", item["text"])
    commit("Fix vowel counting in words", "Runs were miscounted. Fixes #3.")
    git(path, "checkout", "-q", "-b", "feature")
    write("src/calc.py", "def half(n):\n    return n // 2\n\n\ndef third(n):\n    return n / 3\n")
    commit("Add third()")
    write("src/calc.py", "def half(n):\n    return n // 2\n\n\ndef third(n):\n    return n // 3\n")
    commit("Fix third() returning a float")
    git(path, "checkout", "-q", "main")
    write("README.md", "calculator\n")
    commit("Describe the calculator")
    when[0] += 3600
    t = "%d +0000" % when[0]
    git(path, "merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #4 from dev/feature",
        "-m", "Integer thirds", env=dict(GIT_ENV, GIT_AUTHOR_DATE=t, GIT_COMMITTER_DATE=t))


class CurationAndTrajectoriesTest(unittest.TestCase):
    """preset, include_contaminated, ListRecords and the trajectory RPCs, on a server of its own
    (a benchmark added there would change the other class's counts)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fixmine-py-cur-")
        cls.repo = os.path.join(cls.tmp, "repo")
        os.makedirs(cls.repo)
        make_curation_repo(cls.repo)
        cls.server = Server(cls.tmp, cls.repo)
        cls.server.start()
        cls.server.cli("bench", "add", "fixmine-toy",
                       os.path.join(FIXMINE_SRC, "deploy", "bench-pack", "fixmine-toy.jsonl"),
                       "--field", "text")
        cls.server.cli("repo", "add", cls.repo, "--name", "calc")
        cls.server.cli("mine", "calc", "--wait")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.client = Client(self.server.address, backoff=0.1)
        self.addCleanup(self.client.close)

    def subjects(self, rows):
        return sorted(r["subject"] for r in rows)

    def test_preset_default_drops_the_bot(self):
        everything = self.subjects(self.client.stream())
        kept = self.subjects(self.client.stream(preset="default"))
        self.assertIn("Update dependency requests to v2.32.0", everything)
        self.assertEqual(kept, [s for s in everything
                                if s != "Update dependency requests to v2.32.0"])
        self.assertEqual(self.client.count(preset="default"), len(kept))
        self.assertEqual(self.client.count(preset="default"),
                         self.client.count(filter="preset = default"))
        self.assertEqual(len(list(self.client.read_session(streams=1, preset="default").read(0))),
                         len(kept))
        with self.assertRaises(ValueError):
            self.client.count(preset="strict")

    def test_contaminated_records_only_when_asked(self):
        pasted = "Fix vowel counting in words"
        self.assertNotIn(pasted, self.subjects(self.client.stream()))
        self.assertEqual(self.client.count(filter="contaminated"), 0)
        rows = list(self.client.stream(filter="contaminated", include_contaminated=True))
        self.assertEqual(self.subjects(rows), [pasted])
        self.assertEqual(rows[0]["contamination"][0]["benchmark"], "fixmine-toy")
        self.assertEqual(rows[0]["contamination"][0]["item"], "fixmine-toy/0")
        self.assertEqual(self.client.count(include_contaminated=True), self.client.count() + 1)
        page = self.client.list_records(filter="contaminated", include_contaminated=True)
        self.assertEqual(self.subjects(page.records), [pasted])
        session = self.client.read_session(streams=2, include_contaminated=True)
        seen = [r["id"] for i in range(2) for r in session.read(i)]
        self.assertEqual(len(seen), self.client.count(include_contaminated=True))

    def test_list_records_pages_cover_the_stream_in_order(self):
        want = [r["id"] for r in self.client.stream()]
        got, token, pages = [], "", 0
        while pages < 20:
            page = self.client.list_records(page_size=2, page_token=token)
            self.assertIsInstance(page, Page)
            self.assertLessEqual(len(page.records), 2)
            got += [r["id"] for r in page.records]
            pages += 1
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(got, want)
        # Full pages until the last (the server may end with an empty page after a full one).
        self.assertIn(pages, (-(-len(want) // 2), len(want) // 2 + 1))
        proto = self.client.list_records(page_size=1, preset="default", as_proto=True)
        self.assertEqual(type(proto.records[0]).__name__, "Record")
        with self.assertRaises(grpc.RpcError) as ctx:
            self.client.list_records(page_token="garbage")
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_trajectories_stream_get_and_chat(self):
        rows = list(self.client.stream_trajectories())
        self.assertEqual(len(rows), 1)
        t = rows[0]
        self.assertEqual(t["pr_number"], "4")  # int64 in proto JSON is a string
        self.assertEqual(t["title"], "Integer thirds")
        self.assertEqual(t["step_count"], 2)
        self.assertTrue(t["any_fix"])
        step_subjects = [self.client.get(i)["subject"] for i in t["step_record_ids"]]
        self.assertEqual(step_subjects, ["Add third()", "Fix third() returning a float"])
        self.assertEqual(self.client.get_trajectory(t["id"]), t)
        self.assertEqual(self.client.get_trajectory(t["id"], as_proto=True).merge_commit,
                         t["merge_commit"])
        chat = self.client.get_trajectory(t["id"], format="chat")
        self.assertEqual([m["role"] for m in chat["messages"]],
                         ["system", "user", "assistant", "user", "assistant"])
        self.assertEqual(list(self.client.stream_trajectories(format="chat")), [chat])
        self.assertEqual(list(self.client.stream_trajectories(filter="NOT any_fix")), [])
        self.assertEqual(len(list(self.client.stream_trajectories(filter="pr_number = 4"))), 1)
        limited = self.client.stream_trajectories(limit=1)
        self.assertEqual(len(list(limited)), 1)
        self.assertEqual(limited.records, 1)
        self.assertEqual(list(self.client.stream_trajectories(
            resume_token=limited.resume_token)), [])
        with self.assertRaises(ValueError):
            self.client.stream_trajectories(format="swe")
        with self.assertRaises(grpc.RpcError) as ctx:
            self.client.get_trajectory("0" * 24)
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as ctx:
            list(self.client.stream_trajectories(filter="steps > 1"))
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


class ImportWithoutGrpcTest(unittest.TestCase):
    """A python3 that cannot import grpc (a pyenv or virtualenv one, not Debian's) gets an
    ImportError naming the interpreter and the Debian packages, not a bare ModuleNotFoundError."""

    def run_import(self, shim_code, pythonpath_extra=()):
        with tempfile.TemporaryDirectory() as shim:
            with open(os.path.join(shim, "grpc.py"), "w") as f:
                f.write(shim_code)
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                [shim, *pythonpath_extra, os.environ["PYTHONPATH"]]))
            return subprocess.run([sys.executable, "-c", "import fixmine_client"], env=env,
                                  capture_output=True, text=True, timeout=60)

    def test_missing_grpc_names_interpreter_and_packages(self):
        out = self.run_import("raise ModuleNotFoundError(\"No module named 'grpc'\")\n")
        self.assertNotEqual(out.returncode, 0)
        last = out.stderr.strip().splitlines()[-1]
        self.assertTrue(last.startswith("ImportError: fixmine_client:"), last)
        self.assertIn(sys.executable, last)
        self.assertIn("python3-grpcio", last)
        self.assertIn("python3-protobuf", last)
        self.assertIn("/usr/bin/python3", last)
        self.assertIn("pip install grpcio protobuf", last)
        self.assertIn("No module named 'grpc'", last)

    def test_missing_stubs_say_to_build_and_set_pythonpath(self):
        # grpc importable (the real one), but the package alone on the path, without the stubs.
        with tempfile.TemporaryDirectory() as alone:
            src = os.path.join(os.environ["PYTHONPATH"].split(os.pathsep)[0], "fixmine_client")
            shutil.copytree(src, os.path.join(alone, "fixmine_client"))
            env = dict(os.environ, PYTHONPATH=alone)
            out = subprocess.run([sys.executable, "-c", "import fixmine_client"], env=env,
                                 capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        last = out.stderr.strip().splitlines()[-1]
        self.assertIn("generated stubs", last)
        self.assertIn("build/python on PYTHONPATH", last)

    def test_working_interpreter_imports(self):
        out = subprocess.run([sys.executable, "-c", "import fixmine_client; print('ok')"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual((out.returncode, out.stdout), (0, "ok\n"), out.stderr)

if __name__ == "__main__":
    unittest.main()
