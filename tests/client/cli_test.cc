// The CLI entry point run in-process: usage errors and extract's contract.
#include "client/cli.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/testutil/git_repo.h"

namespace fixmine::client {
namespace {

int RunIn(const std::vector<std::string>& args, std::string* out, std::string* err) {
  std::ostringstream o, e;
  int code = RunCli(args, o, e);
  *out = o.str();
  *err = e.str();
  return code;
}

TEST(Cli, UsageErrorsExitTwo) {
  std::string out, err;
  EXPECT_EQ(RunIn({}, &out, &err), kExitUsage);
  EXPECT_EQ(RunIn({"nosuchcommand"}, &out, &err), kExitUsage);
  EXPECT_EQ(RunIn({"extract"}, &out, &err), kExitUsage);
  EXPECT_NE(err.find("repo"), std::string::npos) << err;
  EXPECT_EQ(RunIn({"--help"}, &out, &err), kExitOk);
  EXPECT_NE(out.find("extract"), std::string::npos);
}

TEST(Cli, ExtractRejectsNonRepositoriesAndBadRevisions) {
  testutil::TempDir empty;
  std::string out, err;
  EXPECT_EQ(RunIn({"extract", empty.path()}, &out, &err), kExitUsage);
  EXPECT_NE(err.find("not a git repository"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;

  testutil::GitRepo repo;
  repo.Write("a", "1\n");
  repo.CommitAll("one\n");
  EXPECT_EQ(RunIn({"extract", repo.path(), "--rev", "no-such-branch"}, &out, &err), kExitUsage);
  EXPECT_NE(err.find("no-such-branch"), std::string::npos) << err;
  EXPECT_EQ(RunIn({"extract", repo.path(), "--since", "yesterday-ish"}, &out, &err), kExitUsage);
  EXPECT_NE(err.find("RFC 3339"), std::string::npos) << err;
}

TEST(Cli, ExtractWalksRevisionsDatesAndLimits) {
  testutil::GitRepo repo;
  repo.Write("a", "1\n");
  std::string c1 = repo.CommitAll("one\n");
  long long t2 = repo.next_time();
  repo.Write("a", "2\n");
  std::string c2 = repo.CommitAll("two\n");
  repo.Git("checkout -q -b side");
  repo.Write("b", "x\n");
  std::string c3 = repo.CommitAll("side\n");
  repo.Git("checkout -q main");
  std::string out, err;
  ASSERT_EQ(RunIn({"extract", repo.path(), "-q"}, &out, &err), kExitOk) << err;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  ASSERT_EQ(RunIn({"extract", repo.path(), "-q", "--all"}, &out, &err), kExitOk) << err;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3);
  EXPECT_NE(out.find(c3), std::string::npos);
  ASSERT_EQ(
      RunIn({"extract", repo.path(), "-q", "--rev", "side", "--max-commits", "1"}, &out, &err),
      kExitOk);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_NE(out.find(c3), std::string::npos);
  ASSERT_EQ(RunIn({"extract", repo.path(), "-q", "--rev", c1 + "..side"}, &out, &err), kExitOk);
  EXPECT_EQ(out.find("\"commit\":\"" + c1), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  ASSERT_EQ(RunIn({"extract", repo.path(), "-q", "--since", "@" + std::to_string(t2)}, &out, &err),
            kExitOk);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_NE(out.find(c2), std::string::npos);
  ASSERT_EQ(
      RunIn({"extract", repo.path(), "-q", "--until", "@" + std::to_string(t2 - 1)}, &out, &err),
      kExitOk);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_NE(out.find(c1), std::string::npos);
}

}  // namespace
}  // namespace fixmine::client
