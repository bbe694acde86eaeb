// Merge resolutions and bug-fix links through the real fixmined and CLI: a mining job stores the
// merge-resolution record and the fix's bug_introducing_commits, the store adds fixed_by to the
// bug-introducing record, and the filter fields select them.
#include <gtest/gtest.h>

#include <sstream>

#include "absl/strings/match.h"
#include "fmt/format.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using testutil::CommandResult;
using testutil::LineOf;

//   * M  merge side: the return line was edited on both sides; resolved by hand
//   |
//   | * S  side: `return z;` -> `return z + 0;`
//   * | G  `return z;` -> `return z * 1;`
//   * | F  "Fix division by zero": `z = x / y;` -> `z = y ? x / y : 0;` (blames to I)
//   |/
//   * I  `z = x + y;` -> `z = x / y;` (the bug)
//   * A  calc.c (root)
TEST(SzzE2e, MergeResolutionAndBugFixLinksInTheStore) {
  testutil::GitRepo repo;
  auto calc = [](const std::string& op_line, const std::string& ret) {
    return "int f(int x, int y) {\n  int z = 0;\n" + op_line + "\n  int w = 1;\n  int v = 2;\n" +
           "  int u = 3;\n" + ret + "\n}\n";
  };
  repo.Write("calc.c", calc("  z = x + y;", "  return z;"));
  std::string a = repo.CommitAll("Add calc\n");
  repo.Write("calc.c", calc("  z = x / y;", "  return z;"));
  std::string i = repo.CommitAll("Divide instead of adding\n");
  repo.Git("checkout -q -b side");
  repo.Write("calc.c", calc("  z = x / y;", "  return z + 0;"));
  std::string s = repo.CommitAll("Return a sum\n");
  repo.Git("checkout -q main");
  repo.Write("calc.c", calc("  z = y ? x / y : 0;", "  return z;"));
  std::string f = repo.CommitAll("Fix division by zero\n");
  repo.Write("calc.c", calc("  z = y ? x / y : 0;", "  return z * 1;"));
  repo.CommitAll("Scale the result\n");
  EXPECT_NE(repo.GitResult("merge -q --no-edit side").exit_code, 0);  // conflict on return
  repo.Write("calc.c", calc("  z = y ? x / y : 0;", "  return z * 1 + 0;"));
  std::string m = repo.CommitAll("Merge branch 'side'\n");

  testutil::TestServer server(repo.path());
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(server.Cli(fmt::format("repo add {} --name calc", testutil::ShellQuote(repo.path())))
                .exit_code,
            0);
  CommandResult mine = server.Cli("mine calc --wait");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  CommandResult stream = server.Cli("records stream --filter 'repo = calc'");
  ASSERT_EQ(stream.exit_code, 0) << stream.err;

  std::string merge = LineOf(stream.out, m);
  ASSERT_FALSE(merge.empty()) << stream.out;
  EXPECT_TRUE(absl::StrContains(merge, "\"merge_resolution\":true")) << merge;
  EXPECT_TRUE(absl::StrContains(merge, "diff --cc calc.c")) << merge;
  std::string fix = LineOf(stream.out, f);
  EXPECT_TRUE(absl::StrContains(fix, "\"bug_introducing_commits\":[\"" + i + "\"]")) << fix;
  // I was written after F (newest first) and still lists it.
  std::string bug = LineOf(stream.out, i);
  EXPECT_TRUE(absl::StrContains(bug, "\"fixed_by\":[\"" + f + "\"]")) << bug;
  EXPECT_FALSE(absl::StrContains(LineOf(stream.out, a), "fixed_by")) << LineOf(stream.out, a);
  EXPECT_FALSE(absl::StrContains(LineOf(stream.out, s), "bug_introducing_commits"));

  EXPECT_EQ(server.Cli("records count --filter merge_resolution").out, "1\n");
  EXPECT_EQ(server.Cli("records count --filter has_bug_link").out, "1\n");
  EXPECT_EQ(server.Cli("records count --filter has_fixed_by").out, "1\n");
}

}  // namespace
}  // namespace fixmine
