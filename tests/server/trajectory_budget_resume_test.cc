// Trajectories over the byte budget stream to the end in every batch shape, and a resume token
// taken between them continues the stream without loss or repeat (docs/trajectories.md,
// "Limits"). Before the budget, one oversized trajectory ended every stream that covered it,
// and its resume token hit it again. Real fixmined and `fixmine` CLI.
#include <gtest/gtest.h>

#include <set>

#include "fmt/format.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using testutil::CommandResult;
using testutil::GitRepo;
using testutil::Lines;
using testutil::ShellQuote;
using testutil::TestServer;

std::string ResumeToken(const std::string& err) {
  size_t p = err.find("resume_token: ");
  if (p == std::string::npos) return "";
  size_t e = err.find('\n', p);
  return err.substr(p + 14, e - p - 14);
}

// Merges a pull request `pr` of three steps of six 66 KB files each (a combined diff of about
// 2.4 MB) into main.
void MergeBigPullRequest(GitRepo& repo, int pr) {
  repo.Git(fmt::format("checkout -q -b pr{}", pr));
  for (int c = 0; c < 3; ++c) {
    for (int f = 0; f < 6; ++f) {
      std::string text;
      for (int i = 0; i < 1000; ++i) {
        text += fmt::format("p{}c{}f{} line {:06} {:040}\n", pr, c, f, i, i);
      }
      repo.Write(fmt::format("pr{}/d{}/f{}.txt", pr, c, f), text);
    }
    repo.CommitAll(fmt::format("pr {} part {}\n", pr, c));
  }
  repo.Git("checkout -q main");
  repo.Git(fmt::format("merge -q --no-ff pr{0} -m 'Merge pull request #{0} from ada/pr{0}'", pr));
}

TEST(TrajectoryBudgetResume, OversizedTrajectoriesStreamToTheEndAndResume) {
  GitRepo repo;
  repo.Write("a.txt", "a\n");
  repo.CommitAll("base\n");
  for (int pr = 1; pr <= 3; ++pr) MergeBigPullRequest(repo, pr);

  TestServer server(repo.path(), {"--max-record-bytes", "1048576"});
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(server.Cli(fmt::format("repo add {} --name big", ShellQuote(repo.path()))).exit_code,
            0);
  CommandResult mine = server.Cli("mine big --wait");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;

  CommandResult whole = server.Cli("trajectories stream");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  std::vector<std::string> all = Lines(whole.out);
  ASSERT_EQ(all.size(), 3u) << whole.err;
  for (const std::string& t : all) {
    EXPECT_NE(t.find("\"shed\":{\"patches\":"), std::string::npos) << t.substr(0, 300);
    EXPECT_LT(t.size(), size_t{3} << 19);  // about 1 MiB each; unshed, 2.4 MB
  }

  // One at a time, each resumed from the token of the one before.
  std::vector<std::string> resumed;
  std::string token;
  for (int i = 0; i < 4; ++i) {
    std::string args = "trajectories stream --limit 1";
    if (!token.empty()) args += " --resume-token " + token;
    CommandResult part = server.Cli(args);
    ASSERT_EQ(part.exit_code, 0) << part.err;
    std::vector<std::string> lines = Lines(part.out);
    if (lines.empty()) break;
    ASSERT_EQ(lines.size(), 1u);
    resumed.push_back(lines[0]);
    token = ResumeToken(part.err);
    ASSERT_FALSE(token.empty()) << part.err;
  }
  EXPECT_EQ(resumed, all);
  // The token after the last one ends the stream cleanly.
  CommandResult rest = server.Cli("trajectories stream --resume-token " + token);
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(rest.out, "");
  // In the chat format too, to the end: each row's patches within the budget, the largest
  // left out and counted (before, a row carried every step's whole patch, 2.4 MB here).
  CommandResult chat = server.Cli("trajectories stream --format chat");
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  std::vector<std::string> rows = Lines(chat.out);
  ASSERT_EQ(rows.size(), 3u);
  for (const std::string& row : rows) {
    EXPECT_LT(row.size(), size_t{3} << 19);
    EXPECT_NE(row.find("\"shed\":{\"patches\":"), std::string::npos) << row.substr(0, 300);
    EXPECT_NE(row.find("over the 1048576-byte budget (--max-record-bytes)"), std::string::npos);
    EXPECT_NE(row.find("\"role\":\"assistant\""), std::string::npos);
  }
}

}  // namespace
}  // namespace fixmine
