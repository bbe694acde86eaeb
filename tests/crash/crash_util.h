#pragma once
// Helpers shared by the crash-safety tests: a fast, deterministic history (record snapshots:
// testutil::AllRecords).

#include <string>

#include "tests/testutil/git_repo.h"

namespace fixmine::crashtest {

// Builds `n` linear commits with git fast-import (fixed dates and identity), each rewriting one
// of a few C files with pseudo-random lines (seeded by the commit number, so the history is the
// same every run) and every fifth one saying "Fix ...".
void BuildHistory(testutil::GitRepo& repo, int n, int line_bytes = 60);

}  // namespace fixmine::crashtest
