#pragma once
// Synthetic git histories made quickly with `git fast-import`, for tests that need thousands of
// commits (jobs long enough to cancel, kill or back up mid-way).

#include <functional>
#include <string>

#include "tests/testutil/git_repo.h"

namespace fixmine::testutil {

// One commit of a synthetic linear history: its message (newline-terminated) and the one file
// it writes (whole content).
struct SyntheticCommit {
  std::string message;
  std::string path;
  std::string content;
};

// Imports `n` linear commits on refs/heads/main of `repo` with git fast-import and checks main
// out. Commit i (1..n, asked of `make` in that order) is by "Ada <ada@example.com>" at
// 1700000000 + 60 i, so its id is the same every run. A git failure fails the current test.
void ImportHistory(GitRepo& repo, int n, const std::function<SyntheticCommit(int)>& make);

// The history the job tests use: commit i is "<message_prefix>change i", rewriting
// src/file<i % 7>.c with 40 lines that name i (so every commit has a one-hunk diff).
void ImportLinearHistory(GitRepo& repo, int n, const std::string& message_prefix = "");

}  // namespace fixmine::testutil
