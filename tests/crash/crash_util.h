#pragma once
// Helpers shared by the crash-safety tests: a fast, deterministic history and record snapshots.

#include <map>
#include <string>

#include "client/fixmine_client.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::crashtest {

// Builds `n` linear commits with git fast-import (fixed dates and identity), each rewriting one
// of a few C files with pseudo-random lines (seeded by the commit number, so the history is the
// same every run) and every fifth one saying "Fix ...".
void BuildHistory(testutil::GitRepo& repo, int n, int line_bytes = 60);

// Every record in the server's store by id, streamed with an empty filter. A record id seen
// twice fails the current test. `ok` is false when the stream failed.
std::map<std::string, fixmine::v1::Record> AllRecords(client::FixmineClient& c, bool* ok);

}  // namespace fixmine::crashtest
