"""eval/run.sh end to end on a tiny repository built here with the git CLI, against labels
written here: the figures it prints are the ones the planted agreements and disagreements
imply, and it names the repositories missing from its folder with the commit each needs.

Environment: FIXMINE_CLI (the fixmine binary), FIXMINE_SRC (the checkout).
"""
import json
import os
import subprocess
import tempfile
import unittest

SRC = os.environ.get("FIXMINE_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
RUN = os.path.join(SRC, "eval", "run.sh")
MIT = """MIT License

Copyright (c) 2026 Tiny Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


class Repo:
    """A git repository built commit by commit with the git CLI."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path)
        self.git("init", "-q", "-b", "main")

    def git(self, *args, env=None):
        e = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
        e.update(env or {})
        return subprocess.run(["git", "-C", self.path, *args], check=True, env=e,
                              capture_output=True, text=True).stdout.strip()

    def commit(self, files, message, author=("Alice Example", "alice@example.com"), when=0):
        for name, text in files.items():
            full = os.path.join(self.path, name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write(text)
            self.git("add", name)
        date = f"{1700000000 + when * 3600} +0000"
        env = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
               "GIT_COMMITTER_NAME": author[0], "GIT_COMMITTER_EMAIL": author[1],
               "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        self.git("commit", "-q", "-m", message, env=env)
        return self.git("rev-parse", "HEAD")


PARSER_V1 = """def parse(text):
    fields = text.split(",")
    return fields[0].strip()


def count(text):
    return len(text.split(","))
"""
PARSER_V2 = PARSER_V1.replace('    return fields[0].strip()\n',
                              '    return fields[0].strip() if fields and fields[0] else ""\n')
PARSER_V3 = PARSER_V2 + """

def parse_all(text, strict=False):
    return [f.strip() for f in text.split(",") if f or not strict]
"""


def run(*args):
    return subprocess.run([RUN, *args], capture_output=True, text=True)


class EvalHarnessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = cls.tmp.name
        cls.repos = os.path.join(root, "repos")
        tiny = Repo(os.path.join(cls.repos, "tiny"))
        c = {}
        c["add"] = tiny.commit({"parser.py": PARSER_V1, "README.md": "# Tiny\n\nA parser.\n",
                                "LICENSE": MIT},
                               "Add a parser for comma separated fields", when=1)
        c["fix"] = tiny.commit({"parser.py": PARSER_V2},
                               "Fix crash when the input is empty\n\nparse('') raised "
                               "IndexError because the first field was read unchecked.",
                               when=2)
        c["bot"] = tiny.commit({"requirements.txt": "six==1.16.0\n"},
                               "Bump six from 1.15.0 to 1.16.0",
                               author=("dependabot[bot]", "support@github.com"), when=3)
        c["feature"] = tiny.commit({"parser.py": PARSER_V3},
                                   "Add parse_all for whole records", when=4)
        c["revert"] = tiny.commit({"parser.py": PARSER_V2},
                                  f'Revert "Add parse_all for whole records"\n\nThis reverts '
                                  f'commit {c["feature"]}.', when=5)
        cls.c = c
        cls.labels = os.path.join(root, "labels")
        os.makedirs(cls.labels)
        other_commit = "0123456789abcdef0123456789abcdef01234567"
        cls.other_commit = other_commit
        with open(os.path.join(cls.labels, "repos.json"), "w") as f:
            json.dump([{"name": "tiny", "url": "https://example.com/tiny", "commit": c["revert"],
                        "sample": 5},
                       {"name": "other", "url": "https://example.com/other",
                        "commit": other_commit, "sample": 0}], f)

        def label(key, is_fix, files, is_revert=False, is_bot=False):
            return {"repo": "tiny", "commit": c[key], "is_fix": is_fix, "is_revert": is_revert,
                    "is_bot": is_bot, "message_language": "en", "why": key,
                    "files": [{"path": p, "language": l} for p, l in files]}

        truth = [
            # README.md planted as "Text": fixmine's "Markdown" is the one language confusion.
            label("add", False, [("parser.py", "Python"), ("README.md", "Text"),
                                 ("LICENSE", "Text")]),
            label("fix", True, [("parser.py", "Python")]),
            label("bot", False, [("requirements.txt", "Text")], is_bot=True),
            # The feature planted as a fix: the one false negative of is_fix.
            label("feature", True, [("parser.py", "Python")]),
            label("revert", False, [("parser.py", "Python")], is_revert=True),
        ]
        with open(os.path.join(cls.labels, "commits.jsonl"), "w") as f:
            for t in truth:
                f.write(json.dumps(t) + "\n")
        # The fix changed a line the first commit wrote; the bot commit is planted as a second
        # bug-introducing commit that blame cannot find (one false negative).
        with open(os.path.join(cls.labels, "szz.jsonl"), "w") as f:
            f.write(json.dumps({"repo": "tiny", "fix": c["fix"],
                                "bug_introducing": [c["add"], c["bot"]]}) + "\n")
        with open(os.path.join(cls.labels, "licenses.jsonl"), "w") as f:
            f.write(json.dumps({"repo": "tiny", "license": "MIT"}) + "\n")
            f.write(json.dumps({"repo": "other", "license": "Apache-2.0"}) + "\n")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_names_missing_repositories_with_their_commits(self):
        r = run("--check", "--labels", self.labels, self.repos)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"missing: other (needs commit {self.other_commit})", r.stderr)
        self.assertIn("git clone https://example.com/other", r.stderr)
        self.assertNotIn("missing: tiny", r.stderr)
        self.assertIn("1 of 2 repositories are missing", r.stderr)

    def test_names_a_clone_without_the_pinned_commit(self):
        with tempfile.TemporaryDirectory() as d:
            repos = os.path.join(d, "repos")
            Repo(os.path.join(repos, "other")).commit({"a.txt": "a\n"}, "Add a")
            os.symlink(os.path.join(self.repos, "tiny"), os.path.join(repos, "tiny"))
            r = run("--check", "--labels", self.labels, repos)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(f"lacks commit {self.other_commit}", r.stderr)
            self.assertNotIn("missing: tiny", r.stderr)

    def test_scores_the_planted_labels(self):
        with tempfile.TemporaryDirectory() as d:
            repos = os.path.join(d, "repos")
            os.makedirs(repos)
            os.symlink(os.path.join(self.repos, "tiny"), os.path.join(repos, "tiny"))
            other = Repo(os.path.join(repos, "other"))
            other_head = other.commit({"main.c": "int main(void) { return 0; }\n"},
                                      "Add main")
            labels = os.path.join(d, "labels")
            os.makedirs(labels)
            for name in ("commits.jsonl", "szz.jsonl", "licenses.jsonl"):
                with open(os.path.join(self.labels, name)) as src, \
                        open(os.path.join(labels, name), "w") as dst:
                    dst.write(src.read())
            with open(os.path.join(self.labels, "repos.json")) as f:
                repos_json = json.load(f)
            repos_json[1]["commit"] = other_head
            with open(os.path.join(labels, "repos.json"), "w") as f:
                json.dump(repos_json, f)
            out = os.path.join(d, "figures.json")
            r = run("--labels", labels, "--work", os.path.join(d, "work"), "--json", out, repos)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(out) as f:
                s = json.load(f)

        self.assertEqual(s["commits"], 5)
        self.assertEqual(s["not_mined"], 0)
        # is_fix: the real fix found, the planted feature missed.
        self.assertEqual((s["is_fix"]["tp"], s["is_fix"]["fp"], s["is_fix"]["fn"],
                          s["is_fix"]["tn"]), (1, 0, 1, 3))
        self.assertEqual(s["is_fix"]["precision"], 1.0)
        self.assertEqual(s["is_fix"]["recall"], 0.5)
        self.assertEqual((s["is_revert"]["tp"], s["is_revert"]["fp"], s["is_revert"]["fn"]),
                         (1, 0, 0))
        self.assertEqual((s["is_bot"]["tp"], s["is_bot"]["fp"], s["is_bot"]["fn"]), (1, 0, 0))
        # 7 labelled files, one planted confusion (README.md "Text" -> "Markdown").
        lang = s["language_per_file"]
        self.assertEqual((lang["files"], lang["right"]), (7, 6))
        self.assertEqual(lang["per_language"]["Python"]["recall"], 1.0)
        self.assertEqual(lang["per_language"]["Markdown"]["precision"], 0.0)
        self.assertIn("Text -> Markdown: 1, e.g. tiny:README.md", r.stdout)
        self.assertIn(f"FN tiny {self.c['feature'][:12]}", r.stdout)
        # SZZ: blame finds the first commit and not the planted bot commit.
        self.assertEqual((s["szz"]["tp"], s["szz"]["fp"], s["szz"]["fn"]), (1, 0, 1))
        self.assertEqual(s["szz"]["precision"], 1.0)
        self.assertEqual(s["szz"]["recall"], 0.5)
        # License: tiny's MIT file is found; "other" has no license file.
        self.assertEqual(s["license"]["exact"], 1)
        self.assertIn("other: Apache-2.0 -> (none)", r.stdout)


if __name__ == "__main__":
    unittest.main()
