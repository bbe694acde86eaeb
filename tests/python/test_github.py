"""GitHub issues and pull requests end to end (docs/github.md): the real fixmined and CLI against
a fake GitHub API on 127.0.0.1 (fake_github.py) and a synthetic GH Archive dump.

Run by ctest with the python_client tests (FIXMINED, FIXMINE_CLI set by tests/python/CMakeLists.txt).
Needs only the git CLI and the standard library.
"""

import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

from fake_github import FakeGithub

FIXMINED = os.environ["FIXMINED"]
FIXMINE_CLI = os.environ["FIXMINE_CLI"]
TOKEN = "ghp_fixmineTestToken0123456789secret"
T0 = 1700000000


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def git(repo, *args, t=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="Alice", GIT_AUTHOR_EMAIL="alice@example.com",
               GIT_COMMITTER_NAME="Alice", GIT_COMMITTER_EMAIL="alice@example.com")
    if t is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = "%d +0000" % t
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          env=env, text=True).stdout.strip()


def write(repo, name, text):
    path = os.path.join(repo, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_repo(path):
    """c0; a branch c1 merged as pull request #3; squash commits c3 (#5) and c4 (#6)."""
    git(path, "init", "-q", "-b", "main")
    write(path, "src/calc.py", "def div(a, b):\n    return a / b\n\n\ndef helper(x):\n    return x\n")
    write(path, "src/parse.py", "def parse(s):\n    return int(s) if s.isdigit() else None\n")
    write(path, "tests/test_calc.py", "from calc import div\n\n\ndef test_div():\n    assert div(4, 2) == 2\n")
    write(path, "tests/test_parse.py", "from parse import parse\n\n\ndef test_parse():\n    assert parse('3') == 3\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Initial version", t=T0 - 1000)
    c0 = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-q", "-b", "fix-div")
    write(path, "src/calc.py", "def div(a, b):\n    if b == 0:\n        return None\n    return a / b\n\n\ndef helper(x):\n    return x\n")
    write(path, "tests/test_calc.py", "from calc import div\n\n\ndef test_div():\n    assert div(4, 2) == 2\n    assert div(1, 0) is None\n")
    git(path, "commit", "-q", "-am", "Fix division by zero", t=T0 + 1000)
    c1 = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-q", "main")
    git(path, "merge", "-q", "--no-ff", "-m",
        "Merge pull request #3 from alice/fix-div\n\nHandle division by zero", "fix-div", t=T0 + 1500)
    merge = git(path, "rev-parse", "HEAD")
    write(path, "src/parse.py", "def parse(s):\n    return int(s) if s.lstrip('-').isdigit() else None\n")
    write(path, "tests/test_parse.py", "from parse import parse\n\n\ndef test_parse():\n    assert parse('3') == 3\n    assert parse('-3') == -3\n")
    git(path, "commit", "-q", "-am", "Parse negative numbers (#5)", t=T0 + 2000)
    c3 = git(path, "rev-parse", "HEAD")
    write(path, "src/calc.py", "def div(a, b):\n    if b == 0:\n        return None\n    return a / b\n\n\ndef ident(x):\n    return x\n")
    git(path, "commit", "-q", "-am", "Rename helper (#6)", t=T0 + 3000)
    c4 = git(path, "rev-parse", "HEAD")
    return dict(c0=c0, c1=c1, merge=merge, c3=c3, c4=c4)


def user(login):
    return {"login": login, "type": "User", "id": 7, "site_admin": False}


def objects(c):
    """The GitHub objects of acme/calc (extra API fields included, as GitHub sends them)."""
    issues = [
        {"id": 1001, "number": 1, "title": "Division by zero crashes",
         "body": "Calling div(1, 0) raises ZeroDivisionError.", "state": "closed",
         "user": user("bob"), "labels": [{"name": "bug", "color": "f00"}],
         "created_at": iso(T0), "updated_at": iso(T0 + 5000), "closed_at": iso(T0 + 1500),
         "html_url": "https://github.com/acme/calc/issues/1", "reactions": {"+1": 2}},
        {"id": 1002, "number": 2, "title": "Negative numbers are not parsed",
         "body": "parse('-3') returns None.", "state": "closed", "user": user("carol"),
         "labels": [], "created_at": iso(T0 + 50), "updated_at": iso(T0 + 4000),
         "closed_at": iso(T0 + 2000), "html_url": "https://github.com/acme/calc/issues/2"},
        {"id": 1004, "number": 4, "title": "Docs typo", "body": None, "state": "open",
         "user": user("dave"), "labels": [], "created_at": iso(T0 + 60),
         "updated_at": iso(T0 + 60), "closed_at": None,
         "html_url": "https://github.com/acme/calc/issues/4"},
    ]
    def pull(number, title, body, merged_at, merge_sha, head, base, updated):
        return {"id": 2000 + number, "number": number, "title": title, "body": body,
                "state": "closed", "user": user("alice"), "created_at": iso(T0 + 900 + number),
                "updated_at": iso(updated), "closed_at": iso(merged_at),
                "merged_at": iso(merged_at), "merge_commit_sha": merge_sha,
                "head": {"sha": head, "ref": "branch-%d" % number, "label": "alice:x"},
                "base": {"sha": base, "ref": "main"}, "draft": False,
                "html_url": "https://github.com/acme/calc/pull/%d" % number}
    pulls = [
        pull(3, "Handle division by zero", "Fixes #1", T0 + 1500, c["merge"], c["c1"], c["c0"], T0 + 1600),
        pull(5, "Parse negative numbers", "This resolves acme/calc#2 (see also #4).", T0 + 2000,
             c["c3"], "9" * 40, c["merge"], T0 + 2100),
        pull(6, "Rename helper", "Cleanup, no issue; related to #4.", T0 + 3000, c["c4"], "8" * 40,
             c["c3"], T0 + 3100),
    ]
    def as_issue(p):
        return {"id": p["id"], "number": p["number"], "title": p["title"], "body": p["body"],
                "state": "closed", "user": p["user"], "labels": [], "created_at": p["created_at"],
                "updated_at": p["updated_at"], "closed_at": p["closed_at"],
                "pull_request": {"url": "https://api.github.com/repos/acme/calc/pulls/%d" % p["number"]}}
    def comment(cid, issue, t, body):
        return {"id": cid, "body": body, "user": user("erin"), "created_at": iso(t),
                "updated_at": iso(t),
                "issue_url": "https://api.github.com/repos/acme/calc/issues/%d" % issue}
    comments = [
        comment(101, 1, T0 + 100, "I can reproduce this on 1.2."),
        comment(102, 1, T0 + 5000, "Fixed by #3, thanks!"),
        comment(201, 2, T0 + 200, "Happens with '-0' too."),
        comment(202, 2, T0 + 4000, "Confirmed fixed in main."),
        comment(301, 3, T0 + 1200, "LGTM"),
    ]
    def commit(sha, message, t):
        return {"sha": sha, "commit": {"message": message, "author": {"name": "Alice", "date": iso(t)}}}
    commit_lists = {
        3: [commit(c["c1"], "Fix division by zero", T0 + 1000)],
        5: [commit("9" * 40, "Parse negative numbers", T0 + 2000)],
        6: [commit("8" * 40, "Rename helper", T0 + 3000)],
    }
    return issues, pulls, as_issue, comments, commit_lists


def fixtures(c):
    issues, pulls, as_issue, comments, commit_lists = objects(c)
    base = "/repos/acme/calc"
    f = {
        # Three pages: GitHub's issues listing holds the pull requests too.
        base + "/issues": [[issues[0], issues[1]], [as_issue(pulls[0]), issues[2]],
                           [as_issue(pulls[1]), as_issue(pulls[2])]],
        base + "/pulls": [pulls],
        base + "/issues/comments": [comments],
    }
    for n, lst in commit_lists.items():
        f["%s/pulls/%d/commits" % (base, n)] = [lst]
    return f


def gharchive_dump(path, c):
    """The same objects as GH Archive events, in time order, one JSON event per line."""
    issues, pulls, _, comments, _ = objects(c)
    repo = {"id": 99, "name": "acme/calc", "url": "https://api.github.com/repos/acme/calc"}
    by_number = {i["number"]: i for i in issues}
    events = []
    for i in issues:
        events.append((i["created_at"], {"type": "IssuesEvent", "repo": repo,
                                         "payload": {"action": "opened", "issue": i}}))
    for cm in comments:
        n = int(cm["issue_url"].rsplit("/", 1)[1])
        issue = by_number.get(n, {"number": n, "title": "pr", "pull_request": {"url": "x"}})
        events.append((cm["created_at"], {"type": "IssueCommentEvent", "repo": repo,
                                          "payload": {"action": "created", "issue": issue,
                                                      "comment": cm}}))
    for p in pulls:
        events.append((p["merged_at"], {"type": "PullRequestEvent", "repo": repo,
                                        "payload": {"action": "closed", "number": p["number"],
                                                    "pull_request": p}}))
        events.append((p["merged_at"], {"type": "PushEvent", "repo": repo, "payload": {}}))
    events.sort(key=lambda e: e[0])
    with gzip.open(path, "wt") as f:
        for _, e in events:
            f.write(json.dumps(e) + "\n")
        f.write('{"type": "IssuesEvent", "repo": {"name": "acme/calc"}, "payload": \n')


class Fixmined:
    def __init__(self, root, allowed, api_url, allow_http=True):
        self.root = root
        self.allowed = allowed
        self.api_url = api_url
        self.allow_http = allow_http
        self.start()

    def start(self):
        root, allowed, api_url, allow_http = self.root, self.allowed, self.api_url, self.allow_http
        os.makedirs(root, exist_ok=True)
        token_file = os.path.join(root, "gh-token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        port_file = os.path.join(root, "port")
        if os.path.exists(port_file):
            os.remove(port_file)
        self.log_path = os.path.join(root, "fixmined.log")
        self.log = open(self.log_path, "ab")
        args = [FIXMINED, "--listen", "127.0.0.1:0", "--port-file", port_file,
                "--data-dir", os.path.join(root, "data"), "--allowed-root", allowed,
                "--metrics-listen", "127.0.0.1:0", "--github-api-url", api_url,
                "--github-token-file", token_file]
        if allow_http:
            args.append("--github-allow-http")
        env = dict(os.environ)
        env.pop("GITHUB_TOKEN", None)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log, env=env)
        # Bounded generously (a sanitizer build on a loaded machine); ends at the port.
        deadline = time.time() + 60
        while time.time() < deadline:
            text = ""
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
            if text:
                self.port = int(text)
                break
            if self.proc.poll() is not None:
                raise RuntimeError("fixmined exited; see " + self.log_path)
            time.sleep(0.05)
        else:
            raise RuntimeError("fixmined did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def metrics(self):
        m = re.search(r"serving metrics at (http://\S+/metrics)", self.log_text())
        return urllib.request.urlopen(m.group(1), timeout=10).read().decode()

    def cli(self, *args, check=True):
        p = subprocess.run([FIXMINE_CLI, "--server", "127.0.0.1:%d" % self.port, *args],
                           capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("fixmine %s: exit %d\n%s\n%s" % (" ".join(args), p.returncode,
                                                                 p.stdout, p.stderr))
        return p


def lines(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


class GithubTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fixmine-github-")
        cls.repo = os.path.join(cls.tmp, "git", "calc")
        os.makedirs(cls.repo)
        cls.c = make_repo(cls.repo)
        cls.fake = FakeGithub(fixtures(cls.c))
        cls.server = Fixmined(os.path.join(cls.tmp, "api"), os.path.join(cls.tmp, "git"),
                              cls.fake.url)
        s = cls.server
        s.cli("repo", "add", cls.repo, "--name", "calc", "--github", "acme/calc")
        s.cli("mine", "calc", "--wait")
        cls.sync1 = s.cli("github", "sync", "calc", "--wait")
        cls.requests1 = len(cls.fake.requests())
        cls.first = cls.fake.requests()
        cls.sync2 = s.cli("github", "sync", "calc", "--wait")
        cls.second = cls.fake.requests()[cls.requests1:]
        cls.instances = lines(s.cli("instances", "stream").stdout)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def git_diff(self, a, b, *paths):
        out = subprocess.run(["git", "-C", self.repo, "diff", "--full-index", "-M", a, b, "--",
                              *paths], check=True, capture_output=True, text=True).stdout
        return out

    def test_sync_waits_as_told_and_says_so(self):
        err = self.sync1.stderr
        self.assertIn("secondary rate limit (HTTP 403, retry-after 2): waiting 2 s", err)
        self.assertIn("primary rate limit", err)
        self.assertIn("retry after HTTP 502", err)
        self.assertIn("state:             SUCCEEDED", self.sync1.stdout)
        self.assertRegex(self.sync1.stdout, r"github_waits:\s+3\n")
        m = self.server.metrics()
        self.assertIn('fixmine_github_waits_total{kind="secondary"} 1', m)
        self.assertIn('fixmine_github_waits_total{kind="primary"} 1', m)
        self.assertIn('fixmine_github_waits_total{kind="retry"} 1', m)
        # Every page of the issues listing was fetched, each once after its trouble.
        paths = [e[1] for e in self.first if e[1].startswith("/repos/acme/calc/issues?")]
        self.assertEqual(len([p for p in paths if "page=2" in p]), 2)  # 403, then 200
        self.assertEqual(len([p for p in paths if "page=3" in p]), 1)

    def test_token_goes_to_the_api_and_nowhere_else(self):
        for method, path, headers, status in self.fake.requests():
            self.assertEqual(headers.get("Authorization"), "Bearer " + TOKEN, path)
        self.assertNotIn(TOKEN, self.server.log_text())
        records = self.server.cli("records", "stream").stdout
        self.assertNotIn(TOKEN, records)
        self.assertNotIn(TOKEN, json.dumps(self.instances))
        self.assertNotIn(TOKEN, self.server.cli("github", "issues", "calc").stdout)

    def test_second_sync_is_conditional_and_changes_nothing(self):
        out = self.sync2.stdout
        self.assertIn("state:             SUCCEEDED", out)
        self.assertRegex(out, r"github_objects:\s+0\n")
        self.assertRegex(out, r"github_not_mod:\s+[1-9]")
        second = self.second
        pulls = [e for e in second if e[1].startswith("/repos/acme/calc/pulls?")]
        self.assertEqual(len(pulls), 1)
        self.assertIn("If-None-Match", pulls[0][2])
        self.assertEqual(pulls[0][3], 304)
        # Unchanged pull requests' commit lists are not asked for again.
        self.assertFalse([e for e in second if "/commits" in e[1]])
        # The issues and comments listings ask only for what changed since the last sync.
        self.assertTrue(all("since=" in e[1] for e in second if "/issues" in e[1]))

    def test_two_instances_exactly_as_expected(self):
        c = self.c
        by_id = {i["instance_id"]: i for i in self.instances}
        self.assertEqual(sorted(by_id), ["acme__calc-3", "acme__calc-5"])  # #6 resolves nothing
        i3 = by_id["acme__calc-3"]
        self.assertEqual(i3["repo"], "acme/calc")
        self.assertEqual(i3["base_commit"], c["c0"])
        self.assertEqual(i3["patch"], self.git_diff(c["c0"], c["c1"], "src"))
        self.assertEqual(i3["test_patch"], self.git_diff(c["c0"], c["c1"], "tests"))
        self.assertEqual(i3["problem_statement"],
                         "Division by zero crashes\nCalling div(1, 0) raises ZeroDivisionError.\n")
        self.assertEqual(i3["hints_text"], "I can reproduce this on 1.2.\n")
        self.assertEqual(i3["created_at"], iso(T0 + 903))
        self.assertEqual(i3["FAIL_TO_PASS"], "[]")
        self.assertEqual(i3["PASS_TO_PASS"], "[]")
        self.assertEqual(i3["issues"], [1])
        self.assertEqual(i3["merge_commit"], c["merge"])
        self.assertIn("is_fix", i3["labels"])
        traj = json.loads(self.server.cli("trajectories", "get", i3["trajectory_id"]).stdout)
        self.assertEqual(traj["merge_commit"], c["merge"])
        i5 = by_id["acme__calc-5"]
        self.assertEqual(i5["base_commit"], c["merge"])
        self.assertEqual(i5["patch"], self.git_diff(c["merge"], c["c3"], "src"))
        self.assertEqual(i5["test_patch"], self.git_diff(c["merge"], c["c3"], "tests"))
        self.assertEqual(i5["problem_statement"],
                         "Negative numbers are not parsed\nparse('-3') returns None.\n")
        self.assertEqual(i5["hints_text"], "Happens with '-0' too.\n")
        self.assertEqual(i5["issues"], [2])

    def test_a_github_url_ties_itself(self):
        out = self.server.cli("repo", "add", "https://github.com/Acme/Calc.git", "--name",
                              "by-url").stdout
        self.assertIn("github:      Acme/Calc\n", out)
        out = self.server.cli("repo", "add", "https://gitlab.com/acme/calc", "--name",
                              "not-github").stdout
        self.assertNotIn("github:", out)
        bad = self.server.cli("repo", "add", self.repo, "--name", "bad-tie", "--github",
                              "not a repo", check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("OWNER/REPO", bad.stderr)
        self.assertEqual(self.server.cli("repo", "show", "bad-tie", check=False).returncode, 1)

    def test_issues_are_stored_without_pull_requests(self):
        issues = lines(self.server.cli("github", "issues", "calc").stdout)
        self.assertEqual([i["number"] for i in issues], ["1", "2", "4"])
        self.assertEqual(issues[0]["title"], "Division by zero crashes")
        self.assertEqual(issues[0]["labels"], ["bug"])
        self.assertEqual(issues[0]["created_at"], str(T0))
        two = lines(self.server.cli("github", "issues", "calc", "--limit", "2").stdout)
        self.assertEqual(len(two), 2)
        p = self.server.cli("github", "issues", "calc", "--limit", "1")
        token = re.search(r"resume_token: (\S+)", p.stderr).group(1)
        rest = lines(self.server.cli("github", "issues", "calc", "--resume-token", token).stdout)
        self.assertEqual([i["number"] for i in rest], ["2", "4"])
        closed = lines(self.server.cli("github", "issues", "calc", "--filter",
                                       'closed AND label = bug').stdout)
        self.assertEqual([i["number"] for i in closed], ["1"])
        titled = lines(self.server.cli("github", "issues", "calc", "--filter",
                                       'title:"negative" OR number >= 4').stdout)
        self.assertEqual([i["number"] for i in titled], ["2", "4"])
        bad = self.server.cli("github", "issues", "calc", "--filter", "nosuch = 1", check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("known fields: number, state", bad.stderr)
        other = self.server.cli("github", "issues", "calc", "--filter", "closed",
                                "--resume-token", token, check=False)
        self.assertEqual(other.returncode, 2)  # a token is valid only with its filter
        missing = self.server.cli("github", "issues", "nosuch", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("not found", missing.stderr)

    def test_records_get_their_issues(self):
        linked = lines(self.server.cli("records", "stream", "--filter", "has_issue").stdout)
        got = {r["commit"]: r["labels"]["issues"] for r in linked}
        self.assertEqual(got, {self.c["c1"]: ["1"], self.c["c3"]: ["2"]})

    def test_decontamination_applies_to_instances(self):
        item = os.path.join(self.tmp, "bench-item.py")
        with open(item, "w") as f:
            f.write("if b == 0:\n        return None\n")
        self.server.cli("bench", "add", "leaky", item, "--ngram", "5")
        try:
            hit = lines(self.server.cli("instances", "stream", "--filter", "contaminated").stdout)
            self.assertEqual([i["instance_id"] for i in hit], ["acme__calc-3"])
            self.assertEqual(hit[0]["contamination"][0]["benchmark"], "leaky")
            clean = lines(self.server.cli("instances", "stream", "--filter", "-contaminated").stdout)
            self.assertEqual([i["instance_id"] for i in clean], ["acme__calc-5"])
        finally:
            self.server.cli("bench", "rm", "leaky")
        self.assertEqual(lines(self.server.cli("instances", "stream").stdout), self.instances)

    def test_python_client_streams_instances(self):
        from fixmine_client import Client  # needs build/python on PYTHONPATH (ctest sets it)
        with Client("127.0.0.1:%d" % self.server.port) as client:
            stream = client.stream_instances(filter="pull_number = 5")
            rows = list(stream)
        self.assertEqual([r["instance_id"] for r in rows], ["acme__calc-5"])
        cli = [i for i in self.instances if i["instance_id"] == "acme__calc-5"][0]
        for field in ("repo", "base_commit", "patch", "test_patch", "problem_statement",
                      "hints_text", "created_at", "trajectory_id"):
            self.assertEqual(rows[0][field], cli[field], field)
        self.assertEqual(stream.records, 1)
        self.assertTrue(stream.resume_token)

    def test_filter_limit_and_export(self):
        one = lines(self.server.cli("instances", "stream", "--filter", "pull_number > 4",
                                    "--limit", "5").stdout)
        self.assertEqual([i["instance_id"] for i in one], ["acme__calc-5"])
        first = lines(self.server.cli("instances", "stream", "--limit", "1").stdout)
        self.assertEqual(len(first), 1)
        bad = self.server.cli("instances", "stream", "--filter", "nosuchfield = 1", check=False)
        self.assertEqual(bad.returncode, 2)
        out = os.path.join(self.tmp, "export")
        self.server.cli("instances", "export", "--format", "swe", "--out", out)
        with open(os.path.join(out, "instances.jsonl")) as f:
            self.assertEqual(lines(f.read()), self.instances)

    def test_gharchive_dump_gives_the_same_links(self):
        dump = os.path.join(self.tmp, "2023-11-14-22.json.gz")
        gharchive_dump(dump, self.c)
        # A server that never talks to the API: its URL is not even allowed (plain http).
        other = Fixmined(os.path.join(self.tmp, "archive"), os.path.join(self.tmp, "git"),
                         self.fake.url, allow_http=False)
        try:
            other.cli("repo", "add", self.repo, "--name", "calc", "--github", "acme/calc")
            # Imported before mining: nothing to link yet; the mining job links at its end.
            before = len(self.fake.requests())
            out = other.cli("github", "import", dump).stdout
            self.assertIn("1 bad lines", out)
            self.assertIn("1 link jobs", out)
            jobs = lines(other.cli("job", "list", "--output", "jsonl").stdout)
            self.assertEqual([(j["kind"], j["state"]) for j in jobs if j.get("kind")],
                             [("github_link", "SUCCEEDED")])
            self.assertEqual(len(self.fake.requests()), before)
            self.assertEqual(other.cli("instances", "stream").stdout, "")
            other.cli("mine", "calc", "--wait")
            got = lines(other.cli("instances", "stream").stdout)
            self.assertEqual(got, self.instances)
            linked = lines(other.cli("records", "stream", "--filter", "has_issue").stdout)
            self.assertEqual({r["commit"] for r in linked}, {self.c["c1"], self.c["c3"]})
            # Non-https API URL without --github-allow-http: a clear job error.
            p = other.cli("github", "sync", "calc", "--wait", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("--github-allow-http", p.stderr + p.stdout)
            self.assertNotIn(TOKEN, other.log_text())
        finally:
            other.stop()

    def test_hostile_api_fails_the_job_clearly(self):
        cases = {
            "badjson": "is not the JSON array expected",
            "huge": "larger than the",
            "loop": "endless pagination loop",
            "redirect": "leaves the configured API host",
        }
        for name, expected in cases.items():
            with self.subTest(name):
                self.server.cli("repo", "add", self.repo, "--name", "h-" + name, "--github",
                                "acme/" + name)
                p = self.server.cli("github", "sync", "h-" + name, "--wait", check=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn("FAILED", p.stderr + p.stdout)
                self.assertIn(expected, p.stderr + p.stdout)
                self.assertNotIn(TOKEN, p.stderr + p.stdout)
        self.assertNotIn(TOKEN, self.server.log_text())
        # The server still serves.
        self.assertEqual(self.server.cli("health").returncode, 0)
        # Each hostile listing was asked once: no retry of a failure that cannot heal.
        for name in ("badjson", "loop", "redirect"):
            self.assertEqual(len(self.fake.requests("/repos/acme/%s/" % name)), 1, name)


class GithubResumeTest(unittest.TestCase):
    def test_sync_resumes_after_a_restart_where_it_stopped(self):
        tmp = tempfile.mkdtemp(prefix="fixmine-github-resume-")
        fake = None
        server = None
        try:
            repo = os.path.join(tmp, "git", "calc")
            os.makedirs(repo)
            c = make_repo(repo)
            # A 403 retry-after of 20 s, not 2: the server is stopped while the job waits it out,
            # and a loaded machine must still see the wait (each look is a CLI call) and stop
            # the server within it. The stop ends the wait, so the test does not last longer.
            fake = FakeGithub(fixtures(c), secondary_retry_after=20)
            server = Fixmined(os.path.join(tmp, "srv"), os.path.join(tmp, "git"), fake.url)
            server.cli("repo", "add", repo, "--name", "calc", "--github", "acme/calc")
            server.cli("mine", "calc", "--wait")
            job_id = json.loads(server.cli("github", "sync", "calc").stdout)["id"]

            def job():
                return json.loads(server.cli("job", "show", job_id, "--output", "jsonl").stdout)

            # Stop the server while the job waits out the 403's retry-after (page 2 of issues).
            deadline = time.time() + 30
            while not job().get("waiting", "").startswith("secondary rate limit"):
                self.assertLess(time.time(), deadline, "the job never said it waits")
                time.sleep(0.05)
            server.stop()
            before = len(fake.requests())
            server.start()
            deadline = time.time() + 60
            while job()["state"] not in ("SUCCEEDED", "FAILED", "CANCELLED"):
                self.assertLess(time.time(), deadline, "the resumed job did not end")
                time.sleep(0.2)
            final = job()
            self.assertEqual(final["state"], "SUCCEEDED", final)
            self.assertEqual(final["attempts"], 2)
            after = [e[1] for e in fake.requests()[before:]]
            # It went on with page 2; page 1 was stored before the stop and not asked again.
            self.assertIn("/repos/acme/calc/issues?", after[0])
            self.assertIn("page=2", after[0])
            self.assertFalse([p for p in after if "/issues?" in p and "page=" not in p])
            ids = [i["instance_id"] for i in lines(server.cli("instances", "stream").stdout)]
            self.assertEqual(ids, ["acme__calc-3", "acme__calc-5"])
        finally:
            if server is not None:
                server.stop()
            if fake is not None:
                fake.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
