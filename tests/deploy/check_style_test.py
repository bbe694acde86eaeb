"""deploy/check-style.py on a small git checkout made here: a clang-tidy finding fails the run, a
clean run's keys let a cold checkout (no cache) skip unchanged files, a finding in a file whose
key is not in the clean list still fails, and a changed header re-checks the files including it.

Run by ctest as `check_style` (tests/deploy/CMakeLists.txt). Needs clang-tidy, clang-format, git
and a C++ compiler (deploy/install-deps.sh); skips, saying why, without them.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(SRC, "deploy", "check-style.py")
COMPILER = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")

# std::string(ptr, len) with a length past the literal: bugprone-string-constructor, the check
# that found two tests reading one byte past their literal.
BAD_A = '#include <string>\nstd::string A() { return std::string("ab", 5); }\n'
GOOD_A = '#include <string>\nstd::string A() { return std::string("ab", 2); }\n'
B_CC = '#include <string>\n\n#include "b.h"\nstd::string B() { return std::string(kB, 2); }\n'
GOOD_B_H = '#pragma once\n#define kB "bb"\n'
BAD_B_H = '#pragma once\n#define kB "b"\n'


@unittest.skipUnless(shutil.which("clang-tidy") and shutil.which("clang-format") and COMPILER,
                     "clang-tidy, clang-format or a C++ compiler is not installed")
class CheckStyle(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="check-style-")
        self.root = os.path.join(self.tmp, "src")
        os.makedirs(os.path.join(self.root, "deploy"))
        for name in (".clang-tidy", ".clang-format"):
            shutil.copy(os.path.join(SRC, name), self.root)
        self.write("a.cc", BAD_A)
        self.write("b.cc", B_CC)
        self.write("b.h", GOOD_B_H)
        subprocess.run(["git", "init", "-q", self.root], check=True)
        subprocess.run(["git", "-C", self.root, "add", "."], check=True)
        build = os.path.join(self.root, "build")
        os.makedirs(build)
        db = [{"directory": build, "file": os.path.join(self.root, f),
               "command": f"{COMPILER} -std=c++17 -I{self.root} -o {f}.o -c "
                          f"{os.path.join(self.root, f)}"} for f in ("a.cc", "b.cc")]
        with open(os.path.join(build, "compile_commands.json"), "w") as f:
            json.dump(db, f)
        self.clean_list = os.path.join(self.root, "deploy", "tidy-clean.txt")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, rel, text):
        path = os.path.join(self.root, rel)
        with open(path, "w") as f:
            f.write(text)
        subprocess.run(["clang-format", "-i", "--style=file", path], check=True, cwd=self.root)

    def run_style(self, *args, cache="cache"):
        """check-style.py over the checkout with its own cache folder (a new name: a cold CI)."""
        env = dict(os.environ, FIXMINE_TIDY_CACHE=os.path.join(self.tmp, cache))
        out = subprocess.run([sys.executable, SCRIPT, "--root", self.root, "-j", "2", *args],
                             capture_output=True, text=True, env=env, cwd=self.root)
        return out.returncode, out.stdout + out.stderr

    def test_finding_fails_and_clean_list_skips_only_unchanged_files(self):
        rc, out = self.run_style()
        self.assertEqual(rc, 1, out)
        self.assertIn("a.cc:2:", out)
        self.assertIn("[bugprone-string-constructor]", out)
        self.assertNotIn("b.cc:", out)
        # --update-clean-list refuses to record a run with findings.
        rc, out = self.run_style("--update-clean-list")
        self.assertEqual(rc, 1, out)
        self.assertFalse(os.path.exists(self.clean_list), out)

        self.write("a.cc", GOOD_A)
        rc, out = self.run_style("--update-clean-list")
        self.assertEqual(rc, 0, out)
        with open(self.clean_list) as f:
            listed = [line.split()[1] for line in f if not line.startswith("#")]
        self.assertEqual(listed, ["a.cc", "b.cc"])
        # A cold checkout (empty cache) with that list runs clang-tidy on nothing.
        rc, out = self.run_style(cache="cold1")
        self.assertEqual(rc, 0, out)
        self.assertIn("checked 2 files (2 unchanged since a clean check), 0 with findings", out)

        # The finding back: its key is not in the list, so a cold run checks it and fails.
        self.write("a.cc", BAD_A)
        rc, out = self.run_style(cache="cold2")
        self.assertEqual(rc, 1, out)
        self.assertIn("a.cc:2:", out)
        self.assertIn("(1 unchanged since a clean check), 1 with findings", out)

    def test_changed_header_rechecks_the_files_including_it(self):
        self.write("a.cc", GOOD_A)
        rc, out = self.run_style("--update-clean-list")
        self.assertEqual(rc, 0, out)
        self.write("b.h", BAD_B_H)  # b.cc unchanged; its macro now names a shorter literal
        rc, out = self.run_style(cache="cold")
        self.assertEqual(rc, 1, out)
        self.assertIn("b.cc:", out)
        self.assertIn("[bugprone-string-constructor]", out)
        self.assertIn("(1 unchanged since a clean check), 1 with findings", out)

    def test_paths_limit_the_check_and_keep_other_keys(self):
        self.write("a.cc", GOOD_A)
        rc, out = self.run_style("--update-clean-list")
        self.assertEqual(rc, 0, out)
        with open(self.clean_list) as f:
            before = f.read()
        rc, out = self.run_style("--update-clean-list", os.path.join(self.root, "a.cc"),
                                 cache="cold")
        self.assertEqual(rc, 0, out)
        self.assertIn("checked 1 files", out)
        with open(self.clean_list) as f:
            self.assertEqual(f.read(), before)  # b.cc's key kept, a.cc's the same


if __name__ == "__main__":
    unittest.main()
