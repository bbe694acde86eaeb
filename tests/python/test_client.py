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
import tempfile
import time
import unittest

import grpc

from fixmine_client import Client, FORMATS

FIXMINED = os.environ["FIXMINED"]
FIXMINE_CLI = os.environ["FIXMINE_CLI"]
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
        deadline = time.time() + 20
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
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
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

    # Last (unittest runs tests by name): restarts the server.
    def test_zz_stream_survives_a_server_restart(self):
        want = [r["id"] for r in self.client.stream()]
        stream = self.client.stream()
        got = []
        restarted = False
        for row in stream:
            got.append(row["id"])
            if not restarted and stream.resume_token:  # past the first batch: restart now
                self.server.stop()
                self.server.start()
                restarted = True
        self.assertTrue(restarted, "the stream came in one batch; make records larger")
        self.assertEqual(got, want)  # nothing twice, nothing skipped, same order


if __name__ == "__main__":
    unittest.main()
