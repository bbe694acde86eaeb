// `fixmine extract --trajectories-out`: the offline trajectories file and the records' fields.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "client/cli.h"
#include "fmt/format.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::client {
namespace {

using testutil::GitRepo;
using testutil::JsonField;
using testutil::Lines;
using testutil::TempDir;

//   *   M  Merge pull request #5 from ada/fix  (merge)
//   |\   (branch fix)
//   | * f2 Fix the off-by-one in count
//   | * f1 count: add a test
//   |/
//   * a  base
TEST(ExtractTrajectories, WritesTheTrajectoryAndFillsStepRecords) {
  GitRepo repo;
  repo.Write("c.py", "def count(xs):\n    return len(xs) + 1\n");
  std::string a = repo.CommitAll("base\n");
  repo.Git("checkout -q -b fix");
  repo.Write("test_c.py", "assert count([]) == 0\n");
  std::string f1 = repo.CommitAll("count: add a test\n");
  repo.Write("c.py", "def count(xs):\n    return len(xs)\n");
  std::string f2 = repo.CommitAll("Fix the off-by-one in count\n");
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff fix -m 'Merge pull request #5 from ada/fix' -m 'Count right'");

  TempDir dir;
  std::string path = dir.path() + "/t.jsonl";
  std::ostringstream o, e;
  ASSERT_EQ(RunCli({"extract", repo.path(), "--name", "demo", "--trajectories-out", path}, o, e),
            kExitOk)
      << e.str();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> trajectories = Lines(text.str());
  ASSERT_EQ(trajectories.size(), 1u) << text.str();
  const std::string& t = trajectories[0];
  EXPECT_NE(t.find(fmt::format("\"step_commits\":[\"{}\",\"{}\"]", f1, f2)), std::string::npos)
      << t;
  EXPECT_EQ(JsonField(t, "base_commit"), a);
  EXPECT_EQ(JsonField(t, "title"), "Count right");
  EXPECT_EQ(JsonField(t, "pr_number"), "5");
  EXPECT_NE(t.find("\"any_fix\":true"), std::string::npos) << t;
  EXPECT_NE(e.str().find("1 trajectories"), std::string::npos) << e.str();

  std::vector<std::string> records = Lines(o.str());
  ASSERT_EQ(records.size(), 3u);
  int steps = 0;
  for (const std::string& r : records) {
    std::string commit = JsonField(r, "commit");
    if (commit == f1 || commit == f2) {
      EXPECT_EQ(JsonField(r, "trajectory_id"), JsonField(t, "id")) << r;
      ++steps;
    } else {
      EXPECT_EQ(JsonField(r, "trajectory_id"), "") << r;
    }
    if (commit == f2) {
      EXPECT_NE(r.find("\"trajectory_step\":1"), std::string::npos) << r;
    }
  }
  EXPECT_EQ(steps, 2);
}

}  // namespace
}  // namespace fixmine::client
